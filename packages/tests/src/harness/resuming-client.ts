import { RawStream, type WireEvent } from './sse-client.js';
import { Changes, GUARD_MS } from './wait.js';

/** Between failed connection attempts, as a client backs off: a retry delay, not a wait for some state. */
const RETRY_MS = 50;
const pause = () => new Promise<void>((r) => setTimeout(r, RETRY_MS));

/**
 * A client that keeps one logical stream alive across drops the way our SDK does: whenever its connection ends it
 * reconnects (to whichever server `base()` names now) with `Last-Event-ID` = the last id it received, an id-only
 * start frame included. `pick` says which events carry a message and returns its id; ids are recorded in the
 * order received, so a test can check "every message, once, in order". Tests wait on its state with `until`,
 * which re-checks on every byte that arrives and every connection that opens or ends.
 */
export class ResumingClient {
  received: string[] = [];
  lastId: string | undefined;
  /** Connections that got as far as streaming. */
  connections = 0;
  /** Connections that ended while the client was still running. */
  reconnects = 0;
  private current: RawStream | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly changes = new Changes();

  constructor(
    private readonly base: () => string,
    private readonly path: string,
    private readonly token: string,
    private readonly pick: (e: WireEvent) => string | null,
  ) {}

  /** Starts the loop; resolves once the first connection is streaming. */
  async start(): Promise<void> {
    this.loop = this.run();
    await this.until(() => this.connections > 0, `stream ${this.path} to open`);
  }

  /** Resolves once `check()` holds; rejects after `ms` (a failure guard, not a timing assertion). */
  until(check: () => boolean, what: string, ms = GUARD_MS): Promise<void> {
    return this.changes.until(check, `${what} (${this.path}: ${this.received.length} received)`, ms);
  }

  private async run(): Promise<void> {
    try {
      await this.connectLoop();
    } finally {
      this.changes.notify();
    }
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped && attempt < 1000; attempt++) {
      let s: RawStream;
      try {
        s = await RawStream.open(`${this.base()}${this.path}`, {
          authorization: `Bearer ${this.token}`,
          ...(this.lastId !== undefined && { 'last-event-id': this.lastId }),
        });
      } catch {
        await pause();
        continue;
      }
      if (s.status !== 200) {
        s.close();
        await pause();
        continue;
      }
      this.current = s;
      const unsubscribe = s.onChange(() => this.changes.notify());
      try {
        await s.until(() => s.retry !== undefined || s.ended, GUARD_MS).catch(() => undefined);
        this.connections++;
        this.changes.notify();
        let seen = 0;
        while (!this.stopped && (!s.ended || seen < s.events.length)) {
          if (seen < s.events.length) {
            const e = s.events[seen++]!;
            const id = this.pick(e);
            if (id !== null) this.received.push(id);
            if (e.id !== undefined) this.lastId = e.id;
            this.changes.notify();
            continue;
          }
          await s.until(() => s.ended || s.events.length > seen, 60_000).catch(() => undefined);
        }
        // Every event was processed above, so the stream's last id (an id-only start frame too) is where to resume.
        if (s.lastEventId !== undefined) this.lastId = s.lastEventId;
      } finally {
        unsubscribe();
      }
      this.current = null;
      if (!this.stopped) this.reconnects++;
      this.changes.notify();
    }
  }

  /** The resume point the client would use now (of the open connection, else of the last one). */
  get currentLastId(): string | undefined {
    return this.current?.lastEventId ?? this.lastId;
  }

  /** Cuts the connection from the client side, as a network drop would. */
  drop(): void {
    this.current?.close();
  }

  /**
   * Waits until `n` message ids have arrived, or `ms` passed: it does not throw, so the assertion that follows
   * can say what is missing.
   */
  async waitFor(n: number, ms = GUARD_MS): Promise<void> {
    await this.until(() => this.received.length >= n, `${n} messages`, ms).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.close();
    await this.loop;
  }
}

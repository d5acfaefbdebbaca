import { RawStream, type WireEvent } from './sse-client.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A client that keeps one logical stream alive across drops the way our SDK does: whenever its connection ends it
 * reconnects (to whichever server `base()` names now) with `Last-Event-ID` = the last id it received, an id-only
 * start frame included. `pick` says which events carry a message and returns its id; ids are recorded in the
 * order received, so a test can check "every message, once, in order".
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

  constructor(
    private readonly base: () => string,
    private readonly path: string,
    private readonly token: string,
    private readonly pick: (e: WireEvent) => string | null,
  ) {}

  /** Starts the loop; resolves once the first connection is streaming (or throws after 10 s). */
  async start(): Promise<void> {
    this.loop = this.run();
    const deadline = Date.now() + 10_000;
    while (this.connections === 0 && Date.now() < deadline) await sleep(10);
    if (this.connections === 0) throw new Error(`stream ${this.path} did not open`);
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped && attempt < 1000; attempt++) {
      let s: RawStream;
      try {
        s = await RawStream.open(`${this.base()}${this.path}`, {
          authorization: `Bearer ${this.token}`,
          ...(this.lastId !== undefined && { 'last-event-id': this.lastId }),
        });
      } catch {
        await sleep(50);
        continue;
      }
      if (s.status !== 200) {
        s.close();
        await sleep(50);
        continue;
      }
      this.current = s;
      await s.until(() => s.retry !== undefined || s.ended, 10_000).catch(() => undefined);
      this.connections++;
      let seen = 0;
      while (!this.stopped && (!s.ended || seen < s.events.length)) {
        if (seen < s.events.length) {
          const e = s.events[seen++]!;
          const id = this.pick(e);
          if (id !== null) this.received.push(id);
          if (e.id !== undefined) this.lastId = e.id;
          continue;
        }
        await s.until(() => s.ended || s.events.length > seen, 60_000).catch(() => undefined);
      }
      // Every event was processed above, so the stream's last id (an id-only start frame too) is where to resume.
      if (s.lastEventId !== undefined) this.lastId = s.lastEventId;
      this.current = null;
      if (!this.stopped) this.reconnects++;
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

  async waitFor(n: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.received.length < n && Date.now() < deadline) await sleep(20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.close();
    await this.loop;
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Ephemeral, StoredEvent } from '../store.js';
import type { WakeupHandlers, Wakeups } from './wakeups.js';

/** Signals every instance needs, watched orgs or not: what a token or a session may still do. */
const SECURITY_KINDS: ReadonlySet<Ephemeral['kind']> = new Set(['revoked', 'agent-revoked']);
const RETRY_MS = 1000;
/** How long a new interest waits for the broker to confirm its subscription before it goes on without (see watch). */
const FLUSH_MS = 2000;

interface EventsWakeUp {
  /** The org. */
  o: string;
  /** Its highest seq committed by the batch. */
  s: number;
}

interface SignalMessage {
  i: string;
  m: Ephemeral;
}

/**
 * The broker's subjects of one database, under a prefix derived from the database's own secret, so deployments that
 * share a NATS server never hear each other: `<prefix>.e.<org>` carries an org's commit wake-ups, `<prefix>.s.<org>`
 * its stream signals (typing, `webhook.disabled`), both subscribed only while the org is watched here, and
 * `<prefix>.security` the revocations every instance must hear.
 */
export function brokerPrefix(serverSecret: Uint8Array): string {
  return `concierge.${createHash('sha256').update('concierge-broker\u0000').update(serverSecret).digest('hex').slice(0, 16)}`;
}

/** An org id as one subject token: as it is when it is one already, otherwise hex (ids never hold `.`, `*`, `>`). */
function token(orgID: string): string {
  return /^[A-Za-z0-9_-]+$/.test(orgID) ? orgID : `x${Buffer.from(orgID, 'utf8').toString('hex')}`;
}

/**
 * Wake-ups through NATS (`--broker nats://…`) instead of NOTIFY: a commit sends no NOTIFY (which takes a
 * cluster-wide lock at commit and signals every listening backend), and an instance hears only the orgs it watches,
 * so the broker routes by interest. PostgreSQL stays the source of truth: NATS delivers at most once, so a lost
 * message costs a delay until the store's periodic catch-up (`lossy`), never an event; and while the connection is
 * down the store counts notifications as not live, so security checks read the database.
 */
export class NatsWakeups implements Wakeups {
  readonly instanceID = randomBytes(9).toString('base64url');
  readonly notice = null;
  readonly lossy = true;
  private nc: NatsConnection | null = null;
  private connected = false;
  private closed = false;
  private readonly subscriptions = new Map<string, Subscription[]>();
  private resuming = false;

  constructor(
    private readonly servers: string,
    private readonly prefix: string,
    private readonly handlers: WakeupHandlers,
  ) {}

  async start(): Promise<void> {
    const nc = await connect({
      servers: this.servers.split(','),
      name: `concierge:${process.pid}`,
      // This instance delivered its own signals and commits in place.
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // A connection that died without a word is noticed within about ten seconds.
      pingInterval: 5000,
      maxPingOut: 2,
    });
    this.nc = nc;
    this.connected = true;
    nc.subscribe(`${this.prefix}.security`, { callback: (_error, msg) => this.onSignal(msg) });
    await nc.flush();
    void this.follow(nc);
    await this.handlers.listening();
  }

  committed(events: readonly StoredEvent[]): void {
    const nc = this.nc;
    if (nc === null || this.closed || events.length === 0) return;
    const top = new Map<string, number>();
    for (const e of events) top.set(e.orgID, Math.max(top.get(e.orgID) ?? 0, e.seq));
    try {
      for (const [o, s] of top)
        nc.publish(`${this.prefix}.e.${token(o)}`, JSON.stringify({ o, s } satisfies EventsWakeUp));
    } catch (error) {
      // Closed or draining: the others catch up on their timer.
      this.handlers.error(error);
    }
  }

  publish(message: Ephemeral): void {
    const nc = this.nc;
    if (nc === null || this.closed) return;
    const subject = SECURITY_KINDS.has(message.kind)
      ? `${this.prefix}.security`
      : `${this.prefix}.s.${token(message.orgID)}`;
    try {
      nc.publish(subject, JSON.stringify({ i: this.instanceID, m: message } satisfies SignalMessage));
    } catch (error) {
      this.handlers.error(error);
    }
  }

  async watch(orgID: string): Promise<void> {
    const nc = this.nc;
    if (nc === null || this.closed || this.subscriptions.has(orgID)) return;
    const t = token(orgID);
    this.subscriptions.set(orgID, [
      nc.subscribe(`${this.prefix}.e.${t}`, { callback: (_error, msg) => this.onEvents(msg) }),
      nc.subscribe(`${this.prefix}.s.${t}`, { callback: (_error, msg) => this.onSignal(msg) }),
    ]);
    // Once the server has the subscription, every later wake-up of the org reaches us; the feed positions after
    // this. While disconnected (or if the broker does not answer in time) the client subscribes again on
    // reconnect and the catch-up reads cover the gap: a stream never waits on the broker for long.
    if (!this.connected) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_MS)));
    await Promise.race([nc.flush().catch(() => {}), late]);
    clearTimeout(timer);
  }

  unwatch(orgID: string): void {
    const subs = this.subscriptions.get(orgID);
    if (subs === undefined) return;
    this.subscriptions.delete(orgID);
    for (const s of subs) s.unsubscribe();
  }

  private onEvents(msg: Msg): void {
    let w: EventsWakeUp;
    try {
      w = msg.json<EventsWakeUp>();
    } catch {
      return; // not ours
    }
    if (typeof w.o === 'string' && typeof w.s === 'number') this.handlers.events(new Map([[w.o, w.s]]));
  }

  private onSignal(msg: Msg): void {
    let e: SignalMessage;
    try {
      e = msg.json<SignalMessage>();
    } catch {
      return;
    }
    if (e.i !== this.instanceID && e.m !== undefined) this.handlers.ephemeral(e.m);
  }

  /** Follows the connection's state: a drop makes notifications not live; the way back catches up. */
  private async follow(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.closed) return;
      if (s.type === 'disconnect') {
        this.connected = false;
        this.handlers.lost();
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.resume();
      } else if (s.type === 'slowConsumer') {
        // The client dropped messages: a signal among them may have been a revocation.
        this.handlers.lost();
        this.resume();
      } else if (s.type === 'error') this.handlers.error(s.error);
    }
  }

  /** Catches up (and resyncs what signals update) once the channel is back, retrying until it succeeds. */
  private resume(): void {
    if (this.resuming || this.closed) return;
    this.resuming = true;
    this.handlers.listening().then(
      () => {
        this.resuming = false;
      },
      (error: unknown) => {
        this.resuming = false;
        this.handlers.error(error);
        if (!this.closed) setTimeout(() => this.resume(), RETRY_MS).unref();
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const nc = this.nc;
    this.nc = null;
    if (nc !== null) await nc.close().catch(() => {});
  }
}

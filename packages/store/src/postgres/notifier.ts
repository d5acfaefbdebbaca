import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Ephemeral, StoredEvent } from '../store.js';
import type { Notice, WakeupHandlers, Wakeups } from './wakeups.js';

/** Wake-ups for committed events: a small JSON of the orgs touched and their highest seq, never the rows. */
export const EVENTS_CHANNEL = 'concierge_events';
/** Ephemeral signals (typing, revocations): the signal itself, which is small and never stored. */
export const EPHEMERAL_CHANNEL = 'concierge_ephemeral';

/** NOTIFY payloads must stay under 8000 bytes; past this a batch sends "look at every org" instead. */
const MAX_PAYLOAD = 7000;
const PING_MS = 15_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

interface EventsWakeUp {
  /** The sending instance. */
  i: string;
  /** orgID → highest seq committed by the batch; absent when `all` is set. */
  o?: Record<string, number>;
  all?: true;
}

interface EphemeralMessage {
  i: string;
  m: Ephemeral;
}

/**
 * The instance's LISTEN connection. It is a dedicated client (a pooled one could be handed to a query while a
 * notification is due), re-established with backoff whenever it drops, after which the store catches up from
 * its last delivered seq per org, so a lost connection loses no event. A periodic ping notices a connection that
 * died without a word (a dropped NAT entry, a failed-over proxy).
 */
export class Notifier implements Wakeups {
  /** Tells this instance's own notifications apart from the others' (NOTIFY comes back to its sender too). */
  readonly instanceID = randomBytes(9).toString('base64url');
  /** Every commit wakes every instance, which drops what it does not watch on a map lookup. */
  readonly notice: Notice = { channel: EVENTS_CHANNEL, payload: (events) => this.eventsPayload(events) };
  /** While LISTEN is in place, PostgreSQL delivers every notification. */
  readonly lossy = false;
  private client: pg.Client | null = null;
  private closed = false;
  private backoff = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly ping: NodeJS.Timeout;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly handlers: WakeupHandlers,
    /** Runs `SELECT pg_notify(channel, payload)` on a pooled connection (never the LISTEN one). */
    private readonly send: (channel: string, payload: string) => Promise<unknown>,
  ) {
    this.ping = setInterval(() => void this.checkAlive(), PING_MS);
    this.ping.unref();
  }

  /** Connects and listens; throws if the first attempt fails (the store cannot open without it). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** The wake-up for one committed batch (sent inside its transaction, see GroupCommit). */
  private eventsPayload(events: readonly StoredEvent[]): string {
    const o: Record<string, number> = {};
    for (const e of events) o[e.orgID] = Math.max(o[e.orgID] ?? 0, e.seq);
    const payload = JSON.stringify({ i: this.instanceID, o } satisfies EventsWakeUp);
    return Buffer.byteLength(payload) <= MAX_PAYLOAD ? payload : JSON.stringify({ i: this.instanceID, all: true });
  }

  /** The NOTIFY for an ephemeral signal; one too large to send is dropped (a signal is best effort). */
  publish(message: Ephemeral): void {
    const payload = JSON.stringify({ i: this.instanceID, m: message } satisfies EphemeralMessage);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) return;
    this.send(EPHEMERAL_CHANNEL, payload).catch((error: unknown) => this.handlers.error(error));
  }

  /** The commit's NOTIFY woke everyone already. */
  committed(): void {}

  /** Every instance hears every org's wake-ups: nothing to subscribe to. */
  watch(): Promise<void> {
    return Promise.resolve();
  }

  unwatch(): void {}

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, keepAlive: true });
    client.on('notification', (n) => this.onNotification(n));
    // 'error' must be handled or it crashes the process; 'end' follows it, and is where we reconnect.
    client.on('error', (error) => this.handlers.error(error));
    client.on('end', () => this.lost(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${EPHEMERAL_CHANNEL}`);
      // Only once the catch-up read succeeded is this connection good: otherwise start over, catch-up included.
      await this.handlers.listening();
    } catch (error) {
      this.client = null;
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    this.backoff = RECONNECT_MIN_MS;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.handlers.lost();
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closed) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.connect().catch((error: unknown) => {
        this.handlers.error(error);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private async checkAlive(): Promise<void> {
    const client = this.client;
    if (client === null || this.closed) return;
    const timeout = setTimeout(() => {
      // No answer: treat the connection as dead; 'end' then reconnects.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }, PING_MS);
    timeout.unref();
    try {
      await client.query('SELECT 1');
    } catch {
      // 'error'/'end' handle it.
    } finally {
      clearTimeout(timeout);
    }
  }

  private onNotification(n: pg.Notification): void {
    if (n.payload === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(n.payload);
    } catch {
      return; // not ours
    }
    if (n.channel === EVENTS_CHANNEL) {
      const w = parsed as EventsWakeUp;
      // This instance's own commits were handed to the feed as they committed.
      if (w.i === this.instanceID) return;
      if (w.all === true) this.handlers.events(null);
      else if (w.o !== undefined && typeof w.o === 'object') this.handlers.events(new Map(Object.entries(w.o)));
    } else if (n.channel === EPHEMERAL_CHANNEL) {
      const e = parsed as EphemeralMessage;
      // The sender delivered its own signal in place already.
      if (e.i !== this.instanceID && e.m !== undefined) this.handlers.ephemeral(e.m);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ping);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    if (client !== null) await client.end().catch(() => {});
  }
}

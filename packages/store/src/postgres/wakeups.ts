import type { Ephemeral, StoredEvent } from '../store.js';

/** A NOTIFY sent in the committing transaction, just before COMMIT: the wake-up goes out exactly if the rows do. */
export interface Notice {
  channel: string;
  payload: (events: readonly StoredEvent[]) => string;
}

export interface WakeupHandlers {
  /** A batch committed events of these orgs, up to these seqs (`null`: any org may have new events). */
  events(orgs: Map<string, number> | null): void;
  ephemeral(message: Ephemeral): void;
  /**
   * The channel is (again) in place: wake-ups sent before this point may have been missed, so the store reads the
   * counters of the orgs it watches and catches up. Runs after the first connect too.
   */
  listening(): Promise<void>;
  /** The channel is gone: wake-ups and signals may be missed until `listening` runs again. */
  lost(): void;
  error(error: unknown): void;
}

/**
 * How the instances on one PostgreSQL database wake each other: LISTEN/NOTIFY (notifier.ts), or a broker
 * (nats-wakeups.ts). The database stays the source of truth either way: a wake-up says which org moved, never what,
 * and a lost one costs a delay until the next catch-up read, never an event.
 */
export interface Wakeups {
  /** Tells this instance's own messages apart from the others'. */
  readonly instanceID: string;
  /** The NOTIFY each committing transaction sends, or null where wake-ups are sent after the commit. */
  readonly notice: Notice | null;
  /**
   * Whether a wake-up may be lost while the channel counts as up (a broker's at-most-once delivery): the store then
   * also catches up on a timer.
   */
  readonly lossy: boolean;
  /** Connects; throws if the first attempt fails (the store cannot open without it). */
  start(): Promise<void>;
  /** A batch committed (after COMMIT): wake the instances that watch its orgs, where `notice` did not already. */
  committed(events: readonly StoredEvent[]): void;
  /** Sends a signal to the other instances (this one delivered it in place already). */
  publish(message: Ephemeral): void;
  /** The store watches the org now: its wake-ups must reach this instance from when this resolves. */
  watch(orgID: string): Promise<void>;
  /** Nobody here watches the org any more. */
  unwatch(orgID: string): void;
  close(): Promise<void>;
}

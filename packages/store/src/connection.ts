import type { ReadQueries } from './dialect.js';
import type { ActivityListener, CommitListener, Ephemeral, EphemeralListener, FeedStats, Interest } from './store.js';
import type { BoundRule } from './write-calls.js';

/**
 * What an adapter is: a connection (or pool) with its reads, its way of running write rules (group commit), and
 * its notification plumbing. sql-store.ts holds the rules on top of it. Every error a method gives for a storage
 * fault is already a `StorageUnavailable`.
 */
export interface Connection {
  readonly kind: 'sqlite' | 'postgres';
  readonly reads: ReadQueries;
  /**
   * Runs a rule in the next group-commit batch, after locking the rows of `orgs` (PostgreSQL). The rule is bound to
   * its arguments and is also data (`rule.call`), for a connection whose writer runs in another thread.
   */
  write<T>(orgs: readonly string[], rule: BoundRule<T>): Promise<T>;
  /** Writes submitted and not yet answered (queued, running or waiting for the disk), where the adapter counts them. */
  pendingWrites?(): number;
  /** Throws `UnstorableValue` for a value this dialect cannot store (PostgreSQL text cannot hold NUL). */
  storable(fields: Record<string, string | null | undefined>): void;

  onCommit(listener: CommitListener): () => void;
  watch(orgID: string): Interest;
  onActivity(listener: ActivityListener): () => void;
  feedStats?(): FeedStats;
  publishEphemeral(message: Ephemeral): void;
  onEphemeral(listener: EphemeralListener): () => void;
  notificationsLive(): boolean;
  onResync(listener: () => void): () => void;
  close(): Promise<void>;
}

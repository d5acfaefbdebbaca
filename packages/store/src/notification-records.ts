import type { StoredEvent } from './conversation-records.js';

/** What reaches every instance on one database: commits, and signals that are never stored. */

export type CommitListener = (events: readonly StoredEvent[]) => void;

/** Orgs that committed events, on this instance or another (`null`: any org may have). Nothing is read for it. */
export type ActivityListener = (orgIDs: readonly string[] | null) => void;

/**
 * An instance's interest in one org's events, held while a local subscriber needs them (a stream of the org). A
 * networked adapter reads another instance's events only for the orgs watched here.
 */
export interface Interest {
  /**
   * Resolves once every event committed from now on reaches the commit listeners, with the seq they follow (every
   * later event of the org is handed over), or null where every commit reaches the listeners anyway (one process).
   * A replay of history must start after it, so that the replay and the live events meet without a gap. Rejects
   * when the store cannot be read.
   */
  readonly ready: Promise<number | null>;
  /** Ends this interest (idempotent); the org is dropped once no interest in it is left. */
  release(): void;
}

/**
 * Signals that are never stored but must reach every server instance on the same database: typing indicators,
 * and revocations (so every instance's token cache and open streams learn of them at once). Best effort: security
 * state never rides on a signal alone (see `notificationsLive` and `onResync`).
 */
export type Ephemeral =
  | {
      kind: 'typing';
      orgID: string;
      conversationID: string;
      memberID: string;
      typist: 'member' | 'concierge';
      typistID: string;
      at: string;
    }
  | {
      kind: 'revoked';
      orgID: string;
      memberID: string;
      tokensValidAfter: number;
      deleted: boolean;
      /** Absent from older instances: read as false. */
      archived?: boolean;
    }
  /** An agent disabled (`sessionID` null: all their sessions) or one session revoked: their streams end. */
  | { kind: 'agent-revoked'; orgID: string; agentID: string; sessionID: string | null }
  | { kind: 'webhook-disabled'; orgID: string; endpointID: string; url: string; reason: string; at: string };

export type EphemeralListener = (message: Ephemeral) => void;

/** What an instance's event feed has cost so far (a networked store's; see `NotificationStore.feedStats`). */
export interface FeedStats {
  /** Orgs whose events this instance reads now (a local stream watches them). */
  orgsWatched: number;
  /** Database reads the feed made since the store opened: positions, and catch-ups of other instances' events. */
  reads: number;
}

/** The notifications part of the Store port (store.ts). */
export interface NotificationStore {
  /**
   * Called after every commit with the events it made durable, in seq order per org, for every org watched on this
   * instance (`watch`), whichever instance committed them. An adapter may hand over other orgs' events too (SQLite
   * hands over all of them: every commit is local), but only a watched org's are complete and in order.
   */
  onCommit(listener: CommitListener): () => void;
  /** Takes an interest in an org's events: see `Interest`. */
  watch(orgID: string): Interest;
  /**
   * Called when any instance commits events, with the orgs they belong to, read from the wake-up alone: for a user
   * that needs to know that an org changed and not what (the webhook deliverer claims the org's due deliveries).
   */
  onActivity(listener: ActivityListener): () => void;
  /** The event feed's figures, where the adapter has one (null for SQLite: every commit is in process). */
  feedStats(): FeedStats | null;

  /**
   * True while every notification (commits and ephemeral signals) of every instance reaches this one: always for
   * SQLite (one process); for PostgreSQL only while the LISTEN connection is in place. While false, a user that
   * caches security state (revocations) must read it from the store instead.
   */
  notificationsLive(): boolean;
  /**
   * Called after the notification channel came back (a LISTEN connection re-established): signals sent while it
   * was down are lost, so a user that caches what signals update must drop that cache and reload.
   */
  onResync(listener: () => void): () => void;

  /** Sends an ephemeral signal to every instance on this database, this one included. Best effort, never stored. */
  publishEphemeral(message: Ephemeral): void;
  onEphemeral(listener: EphemeralListener): () => void;
}

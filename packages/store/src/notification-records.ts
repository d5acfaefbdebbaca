import type { StoredEvent } from './conversation-records.js';

/** What reaches every instance on one database: commits, and signals that are never stored. */

export type CommitListener = (events: readonly StoredEvent[]) => void;

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

/** The notifications part of the Store port (store.ts). */
export interface NotificationStore {
  /**
   * Called after every commit with the events it made durable, in seq order per org. A networked adapter also
   * calls it for commits made by other instances, so the hub on every instance sees every event.
   */
  onCommit(listener: CommitListener): () => void;

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

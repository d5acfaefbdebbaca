/** What streams keep in the store: spent tickets, and where a stream the server ended stopped. */

/**
 * Where a stream the server ended stopped: the last position it sent, kept for a short while so a reconnect that
 * brings no resume point of its own (`Last-Event-ID`) resumes there, on whichever instance it lands. `holder` is
 * who held the stream (`member:<id>`, `key:<id>`, `agent:<id>`), `stream` what it showed (`conversation:<id>`,
 * `member:<id>`, `org:<id>`); `seq` a position in the org's event log; `expiresAt` epoch ms.
 */
export interface ResumePoint {
  holder: string;
  stream: string;
  seq: number;
  expiresAt: number;
}

/** The tickets and resume points part of the Store port (store.ts). */
export interface StreamStore {
  /**
   * Records a stream ticket's nonce as spent, durably, until `expiresAt` (epoch ms). False when it was spent
   * before (on any instance): the unique nonce makes a ticket single-use whatever reaches whom.
   */
  spendTicket(nonce: string, expiresAt: number): Promise<boolean>;
  /** Removes spent-ticket records that expired before `now` (epoch ms). Returns how many. */
  purgeSpentTickets(now: number): Promise<number>;

  /** Records where a stream the server ended stopped (one row per ended stream: several may share a key). */
  recordResumePoint(point: ResumePoint): Promise<void>;
  /** The positions of the unexpired resume points of a holder's stream, lowest first (a read: nothing taken). */
  resumePoints(holder: string, stream: string, now: number): Promise<number[]>;
  /**
   * Takes one unexpired resume point of a holder's stream, atomically across instances: the lowest, or the one at
   * `seq` when given. Its position, or null when there was none (or another reconnect took it first).
   */
  takeResumePoint(holder: string, stream: string, now: number, seq: number | null): Promise<number | null>;
  /** Removes resume points that expired before `now` (epoch ms). Returns how many. */
  purgeResumePoints(now: number): Promise<number>;
}

/**
 * The storage port. Routes speak only to this interface; the SQLite and PostgreSQL adapters implement it and
 * nothing above them knows which one runs. Every method is async so a networked adapter fits the same shape.
 *
 * Records here are storage records, not wire shapes: the server renders them (see server/src/render.ts).
 * Sequence numbers (`seq`) come from one counter per org, taken inside the writing transaction, so they are
 * strictly increasing in commit order within an org: that is what makes keyset paging and SSE resume exact.
 */

import type { AgentStore } from './agent-records.js';
import type { ConversationStore } from './conversation-records.js';
import type { IdempotencyStore } from './idempotency-records.js';
import type { MemberStore } from './member-records.js';
import type { NotificationStore } from './notification-records.js';
import type { OrgStore } from './org-records.js';
import type { StreamStore } from './stream-records.js';
import type { TeamStore } from './team-records.js';
import type { WebhookStore } from './webhook-records.js';

/** The wire's own types, which the records share (one declaration, in the protocol). */
export type { Actor, AgentRole, ConversationState, ConversationStatus, InboxCounts } from '@concierge/protocol';
export * from './agent-records.js';
export * from './conversation-records.js';
export * from './idempotency-records.js';
export * from './member-records.js';
export * from './notification-records.js';
export * from './org-records.js';
export * from './store-errors.js';
export * from './stream-records.js';
export * from './team-records.js';

/** The whole port: each domain's part, and what concerns the store as a whole. */
export interface Store
  extends
    OrgStore,
    MemberStore,
    ConversationStore,
    AgentStore,
    TeamStore,
    StreamStore,
    IdempotencyStore,
    NotificationStore,
    WebhookStore {
  readonly kind: 'sqlite' | 'postgres';

  /** Secret for signing cursors and tickets; made once per database, shared by every instance on it. */
  serverSecret(): Promise<Uint8Array>;

  /**
   * True after a write failed with `StorageUnavailable` and until one succeeds (a load balancer should stop
   * sending work here meanwhile, see /readyz).
   */
  writesFailing(): boolean;
  /** Writes submitted and not yet answered, where the adapter bounds them (SQLite); null where it does not. */
  pendingWrites(): number | null;
  /** A tiny durable write, to find out whether writes succeed again; throws `StorageUnavailable` if not. */
  probeWrite(): Promise<void>;

  close(): Promise<void>;
}

import type { WebhookStore } from './webhook-records.js';

/**
 * The storage port. Routes speak only to this interface; the SQLite and PostgreSQL adapters implement it and
 * nothing above them knows which one runs. Every method is async so a networked adapter fits the same shape.
 *
 * Records here are storage records, not wire shapes: the server renders them (see server/src/render.ts).
 * Sequence numbers (`seq`) come from one counter per org, taken inside the writing transaction, so they are
 * strictly increasing in commit order within an org: that is what makes keyset paging and SSE resume exact.
 */

import type { JsonValue } from '@concierge/protocol';
import type { ReplayRendering } from './replay-renderers.js';

export interface OrgRecord {
  id: string;
  name: string;
  /** HMAC key that signs this org's member tokens: a token signed with another org's key does not verify. */
  signingSecret: Uint8Array;
  createdAt: string;
  /** The tier a member without one reports (`tier` is never null on the wire); `concierge orgs default-tier`. */
  defaultTier: string;
}

/** An org's default tier until it is set (`concierge orgs default-tier`). */
export const DEFAULT_TIER = 'standard';

export interface ApiKeyRecord {
  id: string;
  orgID: string;
  /** The first characters of the key, enough for a person to tell keys apart in a listing. */
  hint: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A member's free-form attributes: a JSON object (bounded at the server's edge), stored and returned as given. */
export type MemberAttributes = { [key: string]: JsonValue };

export interface MemberProfile {
  displayName?: string | null | undefined;
  email?: string | null | undefined;
  tier?: string | null | undefined;
  attributes?: MemberAttributes | null | undefined;
}

export type MemberUpsertMode = 'merge' | 'restore' | 'live';

export interface MemberRecord {
  id: string;
  orgID: string;
  externalUserID: string;
  displayName: string | null;
  email: string | null;
  tier: string | null;
  attributes: MemberAttributes | null;
  /** Member tokens issued before this instant (epoch ms) are refused. */
  tokensValidAfter: number;
  /**
   * Set while the member is archived (offboarded): no token is issued, none is accepted, their history stays for
   * the team; a PUT clears it.
   */
  archivedAt: string | null;
  /** The member's place in the org's listing, newest highest (a keyset for `GET /v1/members`). */
  listSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface ConversationRecord {
  id: string;
  orgID: string;
  memberID: string;
  externalUserID: string;
  type: string;
  title: string | null;
  createdAt: string;
  lastMessageAt: string | null;
  /** seq of the latest activity (creation or message): the "newest activity first" order. */
  lastSeq: number;
  memberReadSeq: number;
  conciergeReadSeq: number;
  /** Messages not written by the member after the member's read mark. */
  unreadCount: number;
  /** Team-only state: never rendered for a member. */
  status: ConversationStatus;
  assigneeID: string | null;
  /** True when the last message is the member's. */
  awaitingReply: boolean;
  stateUpdatedAt: string;
  stateUpdatedBy: Actor;
}

export type ConversationStatus = 'open' | 'closed';

/** Who changed something: an agent, the member (their message reopens), or an Org-API-Key acting alone. */
export interface Actor {
  kind: 'agent' | 'member' | 'key';
  id: string;
}

/** A conversation's team state as the wire carries it (`ConversationState`). */
export interface ConversationState {
  conversationID: string;
  status: ConversationStatus;
  assigneeID: string | null;
  awaitingReply: boolean;
  updatedAt: string;
  updatedBy: Actor;
}

export type AgentRole = 'admin' | 'agent';

export interface AgentRecord {
  id: string;
  orgID: string;
  email: string;
  name: string;
  role: AgentRole;
  createdAt: string;
  disabledAt: string | null;
}

/** An agent with its password hash (null until the sign-in link was used): only sign-in reads this. */
export interface AgentCredentials extends AgentRecord {
  passwordHash: string | null;
}

/** One of a person's agents, with the name of its org (the console's org switcher shows it). */
export interface AgentMembership extends AgentCredentials {
  orgName: string;
}

/**
 * Everyone who signs in with one email: the KDF, parameters and salt that every password set for that email is
 * hashed with (`scrypt$N$r$p$salt`; a stored password hash is this, `$`, then the key), null until the first
 * password is set; and the email's agents in every org, oldest first. One KDF run then checks a password against
 * every agent of the email (docs/design/agent-people.md).
 */
export interface AgentPerson {
  email: string;
  passwordKdf: string | null;
  memberships: AgentMembership[];
}

export interface AgentSessionRecord {
  id: string;
  agentID: string;
  orgID: string;
  /** SHA-256 of the current refresh secret. */
  refreshHash: string;
  /** SHA-256 of the secret it replaced: shown again, it proves a stolen cookie (the session is revoked). */
  previousHash: string | null;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  revokedAt: string | null;
}

/** What an agent access token is checked against on every request. */
export interface AgentSessionMark {
  session: AgentSessionRecord;
  agent: AgentRecord;
}

export interface NoteRecord {
  id: string;
  orgID: string;
  conversationID: string;
  authorID: string;
  body: string;
  createdAt: string;
  seq: number;
}

export interface InboxFilter {
  orgID: string;
  status?: ConversationStatus | undefined;
  /** `none`: unassigned; an agent id: theirs. */
  assignee?: string | undefined;
  awaiting?: boolean | undefined;
}

export interface InboxRow {
  conversation: ConversationRecord;
  member: { externalUserID: string; displayName: string | null; email: string | null; tier: string | null };
  lastMessage: MessageRecord | null;
  /** The keyset position: the conversation's activity as of the snapshot. */
  position: number;
  search?: { snippet: string; rank: number };
}

export interface InboxCounts {
  unassigned: number;
  mine: number;
  open: number;
  awaiting: number;
  closed: number;
}

/** A change of a conversation's team state; `assign` null unassigns. */
export type StateChange = { assign: string | null } | { status: ConversationStatus };

export type MessageVia = 'member' | 'server';

export interface MessageRecord {
  id: string;
  orgID: string;
  conversationID: string;
  seq: number;
  type: string;
  authorID: string;
  body: string | null;
  /** Who put it on the wire: the member's own token, or a server credential (concierge or on behalf). */
  via: MessageVia;
  createdAt: string;
}

export type StoredEventType = 'message' | 'conversation' | 'read' | 'conversation.updated' | 'note';

/** Events only the team's streams (agents, Org-API-Key) carry: never a member's stream, page or count. */
export const TEAM_ONLY_EVENTS: readonly StoredEventType[] = ['conversation.updated', 'note'];

/** One row of an org's durable event log: what `GET /v1/stream` replays and fans out. */
export interface StoredEvent {
  orgID: string;
  seq: number;
  type: StoredEventType;
  memberID: string;
  conversationID: string;
  /** For `message` events the message itself; for others, the event's JSON payload as written. */
  message: MessageRecord | null;
  payload: unknown;
}

/** Idempotency keys are kept this long; a key reused after that is a new request (its old record is replaced). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyScope {
  orgID: string;
  /** The caller: `key:<apiKeyID>` or `member:<memberID>`. Two principals never share a key space. */
  principal: string;
  key: string;
}

export interface StoredResponse {
  status: number;
  body: string;
}

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

export interface IdempotencyRecord extends StoredResponse {
  fingerprint: string;
  createdAt: number;
}

/**
 * Asks a mutation to record its idempotency key in the same transaction as its write. `render` names the renderer
 * (replay-renderers.ts) that turns the mutation's result into the response a replay will send back; it runs inside
 * the transaction, in whichever thread writes, so it is data, not a closure. `T` is the result it renders.
 */
export interface IdempotencyWrite<T> {
  scope: IdempotencyScope;
  fingerprint: string;
  render: ReplayRendering & { readonly __result?: T };
}

/** Thrown by a mutation when its idempotency key was committed by another request first (nothing was written). */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super('idempotency key already recorded');
    this.name = 'IdempotencyKeyTaken';
  }
}

/** Thrown when a referenced row does not exist (for example the conversation of a message). */
export class NotFoundInStore extends Error {
  constructor(readonly what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundInStore';
  }
}

/** Thrown when a value cannot be stored (for example text with a NUL character in PostgreSQL). */
export class UnstorableValue extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnstorableValue';
  }
}

/**
 * Thrown when storage cannot do its work for reasons outside the code's control: a full disk, an I/O error,
 * read-only or missing files, a lock held past the busy timeout, the database server down or out of resources.
 * Retrying later may succeed (the server answers 503 UNAVAILABLE with Retry-After). `cause` is the driver's error.
 */
export class StorageUnavailable extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage unavailable: ${reason}`, options);
    this.name = 'StorageUnavailable';
  }
}

/**
 * Thrown, with nothing written, when more writes wait for the writer than it may queue (`writeQueueMax`): clients
 * send faster than the disk flushes, and queueing more would only grow memory. Retrying shortly may succeed (503
 * UNAVAILABLE with Retry-After). Not a storage fault: the disk works, it is busy.
 */
export class WriterOverloaded extends Error {
  constructor(readonly limit: number) {
    super(`${limit} writes already wait for the writer`);
    this.name = 'WriterOverloaded';
  }
}

export interface NewConversation {
  orgID: string;
  memberID: string;
  type: string;
  title: string | null;
}

export interface NewMessage {
  orgID: string;
  conversationID: string;
  type: string;
  authorID: string;
  body: string | null;
  via: MessageVia;
  /** Who sent it, for the `conversation.updated` event when it flips the state; the member by default. */
  actor?: Actor | undefined;
}

export interface NewAgent {
  orgID: string;
  email: string;
  name: string;
  role: AgentRole;
}

/** A one-time sign-in link: only its SHA-256 is stored. */
export interface NewSignInLink {
  hash: string;
  expiresAt: number;
}

export interface NewAgentSession {
  id: string;
  refreshHash: string;
  expiresAt: string;
  userAgent: string | null;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: AgentSessionRecord; agent: AgentRecord }
  /** A rotated secret came back: the cookie was copied; the session is now revoked. */
  | { kind: 'reused' }
  | { kind: 'invalid' };

/** Thrown when an agent with this email exists in the org already. */
export class AgentExists extends Error {
  constructor() {
    super('agent exists');
    this.name = 'AgentExists';
  }
}

export interface ReadMark {
  orgID: string;
  conversationID: string;
  reader: 'member' | 'concierge';
  readerID: string;
  /** The message read up to; the mark only ever moves forward. */
  messageID: string;
}

export interface ReadMarkResult {
  conversation: ConversationRecord;
  /** False when the mark was already at or past this message (nothing written, no event). */
  moved: boolean;
}

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

export interface Store extends WebhookStore {
  readonly kind: 'sqlite' | 'postgres';

  /** Secret for signing cursors and tickets; made once per database, shared by every instance on it. */
  serverSecret(): Promise<Uint8Array>;

  createOrg(name: string): Promise<OrgRecord>;
  /**
   * The first-start org: creates the org and its first key only if the database has no org yet, atomically, so
   * several instances starting at once on an empty database create one between them. Null if an org existed.
   */
  createFirstOrg(name: string, key: { id: string; hash: string; hint: string }): Promise<OrgRecord | null>;
  getOrg(orgID: string): Promise<OrgRecord | null>;
  listOrgs(): Promise<OrgRecord[]>;

  createApiKey(orgID: string, key: { id: string; hash: string; hint: string }): Promise<ApiKeyRecord>;
  listApiKeys(orgID: string): Promise<ApiKeyRecord[]>;
  /** Returns false when no such unrevoked key exists in that org. */
  revokeApiKey(orgID: string, keyID: string): Promise<boolean>;
  /** Only unrevoked keys are found. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;

  /**
   * Creates or updates a member; fields left out keep their values. `merge` leaves an archive as it is; `restore`
   * (the member PUT) also ends one; `live` (the token exchange) changes nothing of an archived member and returns it
   * as stored, for the caller to refuse.
   */
  upsertMember(
    orgID: string,
    externalUserID: string,
    profile: MemberProfile,
    mode: MemberUpsertMode,
    idem?: IdempotencyWrite<MemberRecord>,
  ): Promise<MemberRecord>;
  getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null>;
  getMemberByID(memberID: string): Promise<MemberRecord | null>;
  /** An org's members, newest first, strictly older than `beforeSeq` (a `listSeq`) when given; archived left out. */
  listMembers(orgID: string, beforeSeq: number | null, limit: number): Promise<MemberRecord[]>;
  /**
   * Archives the member (refuses every token issued so far and any new one until restored); the member as stored,
   * or null if there is none. Archiving an archived member changes nothing.
   */
  archiveMember(orgID: string, externalUserID: string, at: number): Promise<MemberRecord | null>;
  /** Erases the member with their conversations, messages and events. Returns false if there was none. */
  deleteMember(orgID: string, externalUserID: string, idem?: IdempotencyWrite<boolean>): Promise<boolean>;
  /** Sets the tier members without one report; false if there is no such org. */
  setOrgDefaultTier(orgID: string, tier: string): Promise<boolean>;
  revokeMemberTokens(
    orgID: string,
    externalUserID: string,
    at: number,
    idem?: IdempotencyWrite<MemberRecord | null>,
  ): Promise<MemberRecord | null>;

  createConversation(input: NewConversation, idem?: IdempotencyWrite<ConversationRecord>): Promise<ConversationRecord>;
  getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null>;
  /** Newest activity first. */
  listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]>;

  /** Throws NotFoundInStore if the conversation is gone (for example its member was removed meanwhile). */
  insertMessage(input: NewMessage, idem?: IdempotencyWrite<MessageRecord>): Promise<MessageRecord>;
  getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null>;
  /** Newest first, strictly older than `beforeSeq` when given. */
  listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]>;
  /** Oldest first, strictly newer than `afterSeq`. */
  listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  /** The newest message's seq, or 0. */
  latestMessageSeq(conversationID: string): Promise<number>;

  markRead(mark: ReadMark, idem?: IdempotencyWrite<ReadMarkResult>): Promise<ReadMarkResult>;

  /** Events of an org after `afterSeq`, oldest first; `memberID` narrows them to one member's. */
  listEventsAfter(orgID: string, memberID: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The org's latest event seq, or 0. */
  latestEventSeq(orgID: string): Promise<number>;

  // ---- agents ----

  /** Creates the agent and its one-time sign-in link; throws AgentExists when the email is taken in the org. */
  createAgent(agent: NewAgent, link: NewSignInLink): Promise<AgentRecord>;
  /** A new sign-in link for an existing agent (the old ones stay valid until used or expired). */
  addSignInLink(orgID: string, agentID: string, link: NewSignInLink): Promise<boolean>;
  listAgents(orgID: string): Promise<AgentRecord[]>;
  getAgent(orgID: string, agentID: string): Promise<AgentRecord | null>;
  /** Agents with this email (one per org, or the one in `orgID`), with their password hashes. */
  findAgentsByEmail(email: string, orgID: string | null): Promise<AgentCredentials[]>;
  /** The person behind an email; no memberships when it is nobody's. */
  findAgentPerson(email: string): Promise<AgentPerson>;
  /**
   * The email and password KDF of the agent a sign-in link would set up (unused, unexpired, agent enabled); null
   * for any other link. The KDF is null when the email has no password anywhere yet.
   */
  signInLinkPerson(linkHash: string, now: number): Promise<{ email: string; passwordKdf: string | null } | null>;
  /** Name, role, disabled; disabling revokes every session in the same transaction. Null if no such agent. */
  updateAgent(
    orgID: string,
    agentID: string,
    patch: { name?: string | undefined; role?: AgentRole | undefined; disabled?: boolean | undefined },
  ): Promise<AgentRecord | null>;
  /**
   * Spends a sign-in link (single use, unexpired), sets the password, ends the agent's other sessions and opens a
   * new one, atomically. Null when the link is unknown, spent or expired, or its agent disabled. The password hash
   * must be made with the email's password KDF (`signInLinkPerson`), or with a new one when it has none: a hash
   * made with another throws PasswordKdfMoved and nothing is written.
   */
  setupAgent(linkHash: string, passwordHash: string, session: NewAgentSession): Promise<AgentSessionMark | null>;
  openAgentSession(orgID: string, agentID: string, session: NewAgentSession): Promise<AgentSessionRecord>;
  /** Rotates a session's refresh secret when `presentedHash` is its current one (see RefreshOutcome). */
  refreshAgentSession(
    sessionID: string,
    presentedHash: string,
    next: { hash: string; expiresAt: string },
  ): Promise<RefreshOutcome>;
  getAgentSession(sessionID: string): Promise<AgentSessionMark | null>;
  listAgentSessions(agentID: string): Promise<AgentSessionRecord[]>;
  /** Revokes one session (`sessionID`) or all of an agent's; returns how many were live. */
  revokeAgentSessions(orgID: string, agentID: string, sessionID: string | null): Promise<number>;

  // ---- inbox, state, notes ----

  /**
   * The org's conversations newest activity first, as of `snapshot` (an org seq): a conversation whose activity
   * moved after it keeps its position as of the snapshot, so paging neither skips nor repeats one.
   */
  inbox(filter: InboxFilter, snapshot: number, before: number | null, limit: number): Promise<InboxRow[]>;
  /** `q` ranked (best first, ties by activity), `offset` into that order. */
  searchInbox(filter: InboxFilter, q: string, offset: number, limit: number): Promise<InboxRow[]>;
  inboxCounts(orgID: string, agentID: string | null): Promise<InboxCounts>;
  /** Applies a state change; `changed` false (and no event) when it was the state already. */
  changeState(
    orgID: string,
    conversationID: string,
    change: StateChange,
    actor: Actor,
  ): Promise<{ state: ConversationState; changed: boolean }>;
  addNote(
    note: { orgID: string; conversationID: string; authorID: string; body: string },
    idem?: IdempotencyWrite<NoteRecord>,
  ): Promise<NoteRecord>;
  /** Newest first, strictly older than `beforeSeq` when given. */
  listNotes(conversationID: string, beforeSeq: number | null, limit: number): Promise<NoteRecord[]>;

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

  getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null>;
  /** Removes idempotency records created before `before` (epoch ms). Returns how many. */
  purgeIdempotency(before: number): Promise<number>;

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

  /**
   * True after a write failed with `StorageUnavailable` and until one succeeds (a load balancer should stop
   * sending work here meanwhile, see /readyz).
   */
  writesFailing(): boolean;
  /** Writes submitted and not yet answered, where the adapter bounds them (SQLite); null where it does not. */
  pendingWrites(): number | null;
  /** A tiny durable write, to find out whether writes succeed again; throws `StorageUnavailable` if not. */
  probeWrite(): Promise<void>;

  /** Sends an ephemeral signal to every instance on this database, this one included. Best effort, never stored. */
  publishEphemeral(message: Ephemeral): void;
  onEphemeral(listener: EphemeralListener): () => void;

  close(): Promise<void>;
}

/** The team state of a conversation record, as `conversation.updated` and the state routes carry it. */
export function conversationState(c: ConversationRecord): ConversationState {
  return {
    conversationID: c.id,
    status: c.status,
    assigneeID: c.assigneeID,
    awaitingReply: c.awaitingReply,
    updatedAt: c.stateUpdatedAt,
    updatedBy: c.stateUpdatedBy,
  };
}

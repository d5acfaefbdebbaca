import type {
  Actor,
  AgentCredentials,
  AgentPerson,
  AgentRecord,
  AgentSessionMark,
  AgentSessionRecord,
  ApiKeyRecord,
  ConversationStatus,
  InboxCounts,
  InboxFilter,
  InboxRow,
  NoteRecord,
  ConversationRecord,
  IdempotencyRecord,
  IdempotencyScope,
  MemberRecord,
  MessageRecord,
  OrgRecord,
  ReadMark,
  ResumePoint,
  StoredEvent,
  StoredResponse,
} from './store.js';
import type {
  WebhookDeliveryRecord,
  WebhookDeliveryState,
  WebhookEndpointRecord,
  WebhookOutboxRow,
} from './webhook-records.js';

/** A step's answer: at once (SQLite) or later (PostgreSQL). */
export type Q<T> = T | Promise<T>;

/** What a write returns inside the transaction: its value, and the events it appended to the log. */
export interface WriteResult<T> {
  value: T;
  events: StoredEvent[];
}

export interface NewApiKey {
  id: string;
  hash: string;
  hint: string;
}

/** A delivery's outcome as the rule decided it, written only while `owner` holds the delivery's lease. */
export interface WebhookAttemptRow {
  deliveryID: string;
  owner: string;
  at: number;
  status: WebhookDeliveryState;
  nextAttemptAt: number | null;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

/** The webhook steps of the write rules (the outbox, the endpoints, the deliverer's leases). */
export interface WebhookWriteTx {
  /**
   * The outbox: the event, once, when the org has an enabled endpoint (its deliveries are made from it when the
   * deliverer claims them). Returns how many rows (0 or 1).
   */
  /**
   * `hooked`: the caller read in this transaction that the org has an enabled endpoint (a send's `webhooks`), so
   * the adapter need not look again.
   */
  enqueueWebhooks(
    orgID: string,
    seq: number,
    eventType: string,
    data: string,
    createdAt: string,
    hooked?: boolean,
  ): Q<number>;
  /**
   * The outbox rows of an org after `afterSeq` of the given types (null: every type), oldest first, at most
   * `limit`; and how far the read looked: the last row's seq when it is full, else the org's newest outbox seq
   * (every row up to it was considered), or `afterSeq` when there is none.
   */
  webhookOutboxAfter(
    orgID: string,
    afterSeq: number,
    types: readonly string[] | null,
    limit: number,
  ): Q<{ rows: WebhookOutboxRow[]; scannedTo: number }>;
  /** The endpoint's outbox cursor: every seq up to it has been made into its deliveries (or skipped). */
  setWebhookCursor(endpointID: string, seq: number): Q<void>;
  /**
   * The cursor set to the org's newest seq, and no range held: the endpoint gets the events committed after this
   * write.
   */
  resetWebhookCursor(endpointID: string): Q<void>;
  /** The endpoint's cursor and range lease as the claim decided them (owner null: no range held). */
  setWebhookRange(
    endpointID: string,
    range: { cursor: number; owner: string | null; until: number | null; to: number | null },
  ): Q<void>;
  /**
   * Moves `owner`'s range of the endpoint on, if it still holds it: the cursor to `cursor` (never back), the lease
   * renewed to `until`; the range given up once the cursor reaches its end, or at once with `release` (its end
   * then kept, so the next holder knows up to where rows after the cursor may be recorded already).
   */
  advanceWebhookRange(endpointID: string, owner: string, cursor: number, until: number, release: boolean): Q<void>;
  /** One outbox row, or null when it is gone (erased with its member, or trimmed once another instance passed it). */
  webhookOutboxRow(orgID: string, seq: number): Q<WebhookOutboxRow | null>;
  /** Which of these delivery ids are stored. */
  storedWebhookDeliveries(ids: readonly string[]): Q<string[]>;
  /** Enabled endpoints a claim may work on (PostgreSQL: locked, skipping those another instance is claiming). */
  claimableWebhookEndpoints(): Q<WebhookEndpointRecord[]>;
  /**
   * Leases due, pending deliveries (retries, replays, tests) of the given endpoints to `owner` until `leaseUntil`,
   * at most `room` of each, skipping rows another instance is claiming (PostgreSQL: FOR UPDATE SKIP LOCKED). A
   * leased row is due again at `leaseUntil` (its outcome, once recorded, sets the real next attempt), so the scan
   * for due rows never walks over those in flight.
   */
  leaseDueWebhookDeliveries(
    rooms: readonly { endpointID: string; room: number }[],
    owner: string,
    now: number,
    leaseUntil: number,
  ): Q<WebhookDeliveryRecord[]>;
  /** Deletes the outbox rows every enabled endpoint of their org has passed (all of an org with none); how many. */
  trimWebhookOutbox(): Q<number>;
  insertWebhookDelivery(delivery: WebhookDeliveryRecord): Q<void>;
  /** Inserts a delivery with its first attempt's outcome unless one with its id is there; whether it did. */
  insertAttemptedWebhookDelivery(delivery: WebhookDeliveryRecord): Q<boolean>;
  insertWebhookEndpoint(endpoint: WebhookEndpointRecord): Q<void>;
  webhookEndpoint(orgID: string, endpointID: string): Q<WebhookEndpointRecord | null>;
  /** Writes every mutable field of the endpoint as given. */
  updateWebhookEndpoint(endpoint: WebhookEndpointRecord): Q<void>;
  webhookDelivery(endpointID: string, deliveryID: string): Q<WebhookDeliveryRecord | null>;
  /** Makes deliveries of the endpoint pending and due at `now` (one by id, or all created at or after `since`). */
  requeueWebhookDeliveries(
    endpointID: string,
    which: { deliveryID: string } | { since: string },
    now: number,
  ): Q<number>;
  /** Gives up `owner`'s leases on these deliveries without an attempt: due again at `now`; how many. */
  releaseWebhookDeliveries(deliveryIDs: readonly string[], owner: string, now: number): Q<number>;
  /** Records an attempt if `owner` still holds the lease (and releases it); the delivery's endpoint id, or null. */
  recordWebhookAttempt(row: WebhookAttemptRow): Q<string | null>;
  webhookEndpointByID(endpointID: string): Q<WebhookEndpointRecord | null>;
  /** Deletes at most `limit` finished (delivered or failed) deliveries created before `before`; how many. */
  purgeWebhookDeliveries(before: string, limit: number): Q<number>;
  /**
   * Erasure: deletes every delivery, in any status, and every outbox row, of an event about one of the member's
   * conversations (its `data` names the conversation: `conversationID`, or `id` for `conversation.created`). Runs
   * before the conversations go; how many deliveries.
   */
  deleteMemberWebhookDeliveries(orgID: string, memberID: string): Q<number>;
}

/**
 * The statements a write rule (rules/) runs inside the group-commit transaction. Each dialect implements
 * them with its own SQL; none decides anything a rule should (what to write, in which order, what it means).
 * Lookups by a value the dialect cannot hold (PostgreSQL: text with NUL) find nothing instead of failing.
 */
export interface WriteTx extends WebhookWriteTx {
  anyOrg(): Q<boolean>;
  /** Serializes the first-start check across instances (PostgreSQL: an advisory lock; SQLite has one writer). */
  lockFirstOrg(): Q<void>;
  insertOrg(org: OrgRecord): Q<void>;
  orgExists(orgID: string): Q<boolean>;
  insertApiKey(orgID: string, key: NewApiKey, createdAt: string): Q<void>;
  revokeApiKey(orgID: string, keyID: string, at: string): Q<boolean>;

  findMember(orgID: string, externalUserID: string): Q<MemberRecord | null>;
  /** Inserts the member; their `listSeq`, taken here (newest highest in the database). */
  insertMember(member: MemberRecord): Q<number>;
  /** Writes the profile, attributes, archive mark and `tokensValidAfter` of the record. */
  updateMemberProfile(member: MemberRecord): Q<void>;
  updateOrgDefaultTier(orgID: string, tier: string): Q<boolean>;
  /** Moves the member's `tokens_valid_after` forward to `at` (never back); the member as now stored, or null. */
  revokeMemberTokens(orgID: string, externalUserID: string, at: number, updatedAt: string): Q<MemberRecord | null>;
  deleteMemberMessages(memberID: string): Q<void>;
  deleteMemberEvents(memberID: string): Q<void>;
  deleteMemberConversations(memberID: string): Q<void>;
  deleteMember(memberID: string): Q<void>;

  /** The org's next seq (its counter moved), or null when there is no such org. */
  nextSeq(orgID: string): Q<number | null>;
  /** Takes the org's next seq only if the member exists in that org: the seq and the member's external id. */
  claimSeqForMember(orgID: string, memberID: string): Q<{ seq: number; externalUserID: string } | null>;
  appendEvent(event: StoredEvent): Q<void>;
  insertConversation(conversation: ConversationRecord): Q<void>;
  /**
   * Only if the conversation exists in the message's org: takes the org's next seq, inserts the message with it,
   * moves the conversation's activity (`last_message_at`, `last_seq`), writes the send's `effect` (its member's
   * unread count, its team state), and appends the `message` event. Returns the seq, the conversation's member and whether the org has an
   * enabled webhook endpoint (so the outbox costs the hot path nothing when it has none), or null (nothing
   * written). One step, because PostgreSQL does it in one round trip on the writer connection.
   */
  appendMessage(message: Omit<MessageRecord, 'seq'>, effect: SendEffect): Q<AppendedMessage | null>;
  messagePosition(conversationID: string, messageID: string): Q<{ seq: number; orgID: string } | null>;
  /**
   * Moves a read mark forward to `seq` (never back); false if it was there already. The member's mark also recounts
   * their unread count over the messages still after it (not theirs).
   */
  moveReadMark(reader: ReadMark['reader'], conversationID: string, seq: number): Q<boolean>;
  conversation(orgID: string, conversationID: string): Q<ConversationRecord | null>;

  /**
   * Inserts the idempotency record, or replaces one past its lifetime (IDEMPOTENCY_TTL_MS); false when a live
   * record holds the key (another request committed it first).
   */
  recordIdempotency(scope: IdempotencyScope, fingerprint: string, response: StoredResponse, now: number): Q<boolean>;
  purgeIdempotency(before: number): Q<number>;
  /** False when the nonce is recorded already (the ticket was spent). */
  spendTicket(nonce: string, expiresAt: number): Q<boolean>;
  purgeSpentTickets(now: number): Q<number>;
  writeProbe(bytes: Buffer): Q<void>;
  insertResumePoint(point: ResumePoint): Q<void>;
  /** The unexpired resume points of a holder's stream, lowest position first (`n` names the row). */
  resumePointRows(holder: string, stream: string, now: number): Q<Array<{ n: number; seq: number }>>;
  /** Deletes one resume point; false when it is gone already (another reconnect took it). */
  deleteResumePoint(n: number): Q<boolean>;
  purgeResumePoints(now: number): Q<number>;

  /** False when an agent with this email exists in the org (nothing written). */
  insertAgent(agent: AgentRecord): Q<boolean>;
  /** `orgID` null: whichever org (agent ids are unique). */
  findAgent(orgID: string | null, agentID: string): Q<AgentRecord | null>;
  updateAgent(agent: AgentRecord): Q<void>;
  insertSignInLink(hash: string, agentID: string, expiresAt: number): Q<void>;
  /** Marks the link used if it is unused and unexpired at `now`; its agent id, or null. */
  spendSignInLink(hash: string, now: number, at: string): Q<string | null>;
  setAgentPassword(agentID: string, passwordHash: string): Q<void>;
  /** Records the email's password KDF unless it has one; the one in force either way. */
  ensureAgentPerson(email: string, passwordKdf: string): Q<string>;
  insertAgentSession(session: AgentSessionRecord): Q<void>;
  agentSession(sessionID: string): Q<AgentSessionRecord | null>;
  rotateAgentSession(
    sessionID: string,
    refreshHash: string,
    previousHash: string,
    at: string,
    expiresAt: string,
  ): Q<void>;
  /** Revokes live sessions: one (`sessionID`) or every one of the agent's; how many. */
  revokeAgentSessions(agentID: string, sessionID: string | null, at: string): Q<number>;

  setConversationState(
    conversationID: string,
    state: { status: ConversationStatus; assigneeID: string | null; updatedAt: string; updatedBy: Actor },
  ): Q<void>;
  insertNote(note: NoteRecord): Q<void>;
}

/**
 * What a send does to its conversation, as the rule decided it (rules/send-effect.ts): a dialect writes it as
 * given, and decides nothing about it.
 */
export interface SendEffect {
  /** Added to the member's unread count. */
  unread: 0 | 1;
  /** The conversation's `awaitingReply` after the message. */
  awaitingReply: boolean;
  /** Whether the message reopens a closed conversation. */
  reopen: boolean;
}

/** What appending a message did to its conversation: its seq, its member, and its team state before the send. */
export interface AppendedMessage {
  seq: number;
  memberID: string;
  before: { status: ConversationStatus; awaitingReply: boolean };
  /** Whether the org has an enabled webhook endpoint, so the outbox costs the hot path nothing when it has none. */
  webhooks: boolean;
}

/** The reads of the Store port, one query each: nothing to decide, only SQL and row mapping per dialect. */
export interface ReadQueries {
  serverSecret(): Promise<Uint8Array | null>;
  getOrg(orgID: string): Promise<OrgRecord | null>;
  listOrgs(): Promise<OrgRecord[]>;
  listApiKeys(orgID: string): Promise<ApiKeyRecord[]>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null>;
  getMemberByID(memberID: string): Promise<MemberRecord | null>;
  /** Unarchived members of the org, by `listSeq` descending, below `beforeSeq` when given. */
  listMembers(orgID: string, beforeSeq: number | null, limit: number): Promise<MemberRecord[]>;
  getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null>;
  listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]>;
  getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null>;
  listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]>;
  listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  latestMessageSeq(conversationID: string): Promise<number>;
  listEventsAfter(orgID: string, memberID: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  latestEventSeq(orgID: string): Promise<number>;
  getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null>;
  /** Positions of the unexpired resume points of a holder's stream, lowest first. */
  resumePoints(holder: string, stream: string, now: number): Promise<number[]>;

  listAgents(orgID: string): Promise<AgentRecord[]>;
  getAgent(orgID: string, agentID: string): Promise<AgentRecord | null>;
  findAgentsByEmail(email: string, orgID: string | null): Promise<AgentCredentials[]>;
  findAgentPerson(email: string): Promise<AgentPerson>;
  signInLinkPerson(linkHash: string, now: number): Promise<{ email: string; passwordKdf: string | null } | null>;
  getAgentSession(sessionID: string): Promise<AgentSessionMark | null>;
  listAgentSessions(agentID: string): Promise<AgentSessionRecord[]>;
  inbox(filter: InboxFilter, snapshot: number, before: number | null, limit: number): Promise<InboxRow[]>;
  /** `terms` from search-terms.ts, never empty. */
  searchInbox(filter: InboxFilter, terms: readonly string[], offset: number, limit: number): Promise<InboxRow[]>;
  inboxCounts(orgID: string, agentID: string | null): Promise<InboxCounts>;
  inboxItem(orgID: string, conversationID: string): Promise<InboxRow | null>;
  listNotes(conversationID: string, beforeSeq: number | null, limit: number): Promise<NoteRecord[]>;
  listWebhookEndpoints(orgID: string): Promise<WebhookEndpointRecord[]>;
  getWebhookEndpoint(orgID: string, endpointID: string): Promise<WebhookEndpointRecord | null>;
  /** Newest first, strictly older than `beforeN` when given. */
  listWebhookDeliveries(endpointID: string, beforeN: number | null, limit: number): Promise<WebhookDeliveryRecord[]>;
  getWebhookDelivery(endpointID: string, deliveryID: string): Promise<WebhookDeliveryRecord | null>;
  webhookOrgs(): Promise<string[]>;
}

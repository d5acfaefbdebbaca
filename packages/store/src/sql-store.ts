import type { Connection } from './connection.js';
import type { NewApiKey } from './dialect.js';
import { searchTerms } from './search-terms.js';
import {
  StorageUnavailable,
  type Actor,
  type AgentCredentials,
  type AgentPerson,
  type AgentRecord,
  type AgentSessionMark,
  type AgentSessionRecord,
  type ConversationState,
  type InboxCounts,
  type InboxFilter,
  type InboxRow,
  type NewAgent,
  type NewAgentSession,
  type NewSignInLink,
  type NoteRecord,
  type RefreshOutcome,
  type StateChange,
  type ApiKeyRecord,
  type ActivityListener,
  type CommitListener,
  type FeedStats,
  type Interest,
  type ConversationRecord,
  type Ephemeral,
  type EphemeralListener,
  type IdempotencyRecord,
  type IdempotencyScope,
  type IdempotencyWrite,
  type MemberProfile,
  type MemberRecord,
  type MemberUpsertMode,
  type MessageRecord,
  type NewConversation,
  type NewMessage,
  type OrgRecord,
  type ReadMark,
  type ReadMarkResult,
  type ResumePoint,
  type Store,
  type StoredEvent,
} from './store.js';
import type {
  NewWebhookEndpoint,
  WebhookAttempt,
  WebhookAttemptResult,
  WebhookClaim,
  WebhookClaimResult,
  WebhookDeliveryRecord,
  WebhookEndpointPatch,
  WebhookEndpointRecord,
  WebhookRangeProgress,
} from './webhook-records.js';
import { bindRule, type BoundRule } from './write-calls.js';

/**
 * The Store port over either dialect's connection. Writes are the rules of rules/ (write-rules.ts), run through the
 * connection's group commit; reads are the connection's queries as they are. What differs between SQLite and
 * PostgreSQL lives below `Connection`: SQL text, row mapping, connections, durability and notifications.
 */
export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  private secret: Uint8Array | null = null;
  private failing = false;

  constructor(private readonly db: Connection) {
    this.kind = db.kind;
  }

  /** Runs a rule; remembers whether writes fail for lack of storage (for /readyz), and that they succeed again. */
  private async write<T>(orgs: readonly string[], rule: BoundRule<T>, maintenance = false): Promise<T> {
    try {
      const value = await this.db.write(orgs, rule);
      if (!maintenance) this.failing = false;
      return value;
    } catch (error) {
      if (error instanceof StorageUnavailable) this.failing = true;
      throw error;
    }
  }

  /**
   * The server's own background writes (purges, the webhook deliverer's claims and records): a failure marks writes
   * failing, but a success does not clear it. Most of them write nothing most of the time, and a transaction that
   * writes nothing commits on a full disk: a deliverer's empty claim once made /readyz say ready between a refused
   * send and the next (a flaky storage-faults test in CI). Requests and the readiness probe's own write clear it.
   */
  private maintenance<T>(rule: BoundRule<T>): Promise<T> {
    return this.write([], rule, true);
  }

  /** Refuses, by field name, what the dialect cannot store, before anything is queued. */
  private storable(fields: Record<string, string | null | undefined>, idem?: IdempotencyWrite<unknown>): void {
    this.db.storable(idem === undefined ? fields : { ...fields, 'Idempotency-Key': idem.scope.key });
  }

  async serverSecret(): Promise<Uint8Array> {
    if (this.secret === null) {
      const secret = await this.db.reads.serverSecret();
      if (secret === null) throw new Error('database has no server secret: was it migrated?');
      this.secret = secret;
    }
    return this.secret;
  }

  // ---- orgs and keys ----

  createOrg(name: string): Promise<OrgRecord> {
    this.storable({ name });
    return this.write([], bindRule('createOrg', name));
  }

  createFirstOrg(name: string, key: NewApiKey): Promise<OrgRecord | null> {
    this.storable({ name });
    return this.write([], bindRule('createFirstOrg', name, key));
  }

  getOrg(orgID: string): Promise<OrgRecord | null> {
    return this.db.reads.getOrg(orgID);
  }

  listOrgs(): Promise<OrgRecord[]> {
    return this.db.reads.listOrgs();
  }

  createApiKey(orgID: string, key: NewApiKey): Promise<ApiKeyRecord> {
    return this.write([orgID], bindRule('createApiKey', orgID, key));
  }

  listApiKeys(orgID: string): Promise<ApiKeyRecord[]> {
    return this.db.reads.listApiKeys(orgID);
  }

  revokeApiKey(orgID: string, keyID: string): Promise<boolean> {
    return this.write([orgID], bindRule('revokeApiKey', orgID, keyID));
  }

  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.db.reads.findApiKeyByHash(hash);
  }

  // ---- members ----

  upsertMember(
    orgID: string,
    externalUserID: string,
    profile: MemberProfile,
    mode: MemberUpsertMode,
    idem?: IdempotencyWrite<MemberRecord>,
  ): Promise<MemberRecord> {
    this.storable({ externalUserID, displayName: profile.displayName, email: profile.email, tier: profile.tier }, idem);
    return this.write([orgID], bindRule('upsertMember', orgID, externalUserID, profile, mode, idem));
  }

  getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null> {
    return this.db.reads.getMember(orgID, externalUserID);
  }

  getMemberByID(memberID: string): Promise<MemberRecord | null> {
    return this.db.reads.getMemberByID(memberID);
  }

  listMembers(orgID: string, beforeSeq: number | null, limit: number): Promise<MemberRecord[]> {
    return this.db.reads.listMembers(orgID, beforeSeq, limit);
  }

  archiveMember(orgID: string, externalUserID: string, at: number): Promise<MemberRecord | null> {
    return this.write([orgID], bindRule('archiveMember', orgID, externalUserID, at));
  }

  deleteMember(orgID: string, externalUserID: string, idem?: IdempotencyWrite<boolean>): Promise<boolean> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('deleteMember', orgID, externalUserID, idem));
  }

  setOrgDefaultTier(orgID: string, tier: string): Promise<boolean> {
    this.storable({ tier });
    return this.write([orgID], bindRule('setOrgDefaultTier', orgID, tier));
  }

  revokeMemberTokens(
    orgID: string,
    externalUserID: string,
    at: number,
    idem?: IdempotencyWrite<MemberRecord | null>,
  ): Promise<MemberRecord | null> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('revokeMemberTokens', orgID, externalUserID, at, idem));
  }

  // ---- conversations and messages ----

  createConversation(input: NewConversation, idem?: IdempotencyWrite<ConversationRecord>): Promise<ConversationRecord> {
    this.storable({ type: input.type, title: input.title }, idem);
    return this.write([input.orgID], bindRule('createConversation', input, idem));
  }

  getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null> {
    return this.db.reads.getConversation(orgID, conversationID);
  }

  listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]> {
    return this.db.reads.listConversations(orgID, memberID);
  }

  insertMessage(input: NewMessage, idem?: IdempotencyWrite<MessageRecord>): Promise<MessageRecord> {
    this.storable({ message: input.body, type: input.type, authorID: input.authorID }, idem);
    return this.write([input.orgID], bindRule('insertMessage', input, idem));
  }

  getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null> {
    return this.db.reads.getMessage(conversationID, messageID);
  }

  listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]> {
    return this.db.reads.listMessagesBefore(conversationID, beforeSeq, limit);
  }

  listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.db.reads.listMessagesAfter(conversationID, afterSeq, limit);
  }

  latestMessageSeq(conversationID: string): Promise<number> {
    return this.db.reads.latestMessageSeq(conversationID);
  }

  markRead(mark: ReadMark, idem?: IdempotencyWrite<ReadMarkResult>): Promise<ReadMarkResult> {
    this.storable({ readerID: mark.readerID }, idem);
    return this.write([mark.orgID], bindRule('markRead', mark, idem));
  }

  // ---- the event log, idempotency, tickets ----

  listEventsAfter(orgID: string, memberID: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.db.reads.listEventsAfter(orgID, memberID, afterSeq, limit);
  }

  latestEventSeq(orgID: string): Promise<number> {
    return this.db.reads.latestEventSeq(orgID);
  }

  getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null> {
    return this.db.reads.getIdempotency(scope);
  }

  purgeIdempotency(before: number): Promise<number> {
    return this.maintenance(bindRule('purgeIdempotency', before));
  }

  spendTicket(nonce: string, expiresAt: number): Promise<boolean> {
    return this.write([], bindRule('spendTicket', nonce, expiresAt));
  }

  purgeSpentTickets(now: number): Promise<number> {
    return this.maintenance(bindRule('purgeSpentTickets', now));
  }

  // ---- where streams the server ended stopped ----

  recordResumePoint(point: ResumePoint): Promise<void> {
    return this.write([], bindRule('recordResumePoint', point));
  }

  resumePoints(holder: string, stream: string, now: number): Promise<number[]> {
    return this.db.reads.resumePoints(holder, stream, now);
  }

  takeResumePoint(holder: string, stream: string, now: number, seq: number | null): Promise<number | null> {
    return this.write([], bindRule('takeResumePoint', holder, stream, now, seq));
  }

  purgeResumePoints(now: number): Promise<number> {
    return this.maintenance(bindRule('purgeResumePoints', now));
  }

  // ---- agents ----

  createAgent(agent: NewAgent, link: NewSignInLink): Promise<AgentRecord> {
    this.storable({ email: agent.email, name: agent.name });
    return this.write([agent.orgID], bindRule('createAgent', agent, link));
  }

  addSignInLink(orgID: string, agentID: string, link: NewSignInLink): Promise<boolean> {
    return this.write([orgID], bindRule('addSignInLink', orgID, agentID, link));
  }

  listAgents(orgID: string): Promise<AgentRecord[]> {
    return this.db.reads.listAgents(orgID);
  }

  getAgent(orgID: string, agentID: string): Promise<AgentRecord | null> {
    return this.db.reads.getAgent(orgID, agentID);
  }

  findAgentsByEmail(email: string, orgID: string | null): Promise<AgentCredentials[]> {
    return this.db.reads.findAgentsByEmail(email, orgID);
  }

  findAgentPerson(email: string): Promise<AgentPerson> {
    return this.db.reads.findAgentPerson(email);
  }

  signInLinkPerson(linkHash: string, now: number): Promise<{ email: string; passwordKdf: string | null } | null> {
    return this.db.reads.signInLinkPerson(linkHash, now);
  }

  updateAgent(
    orgID: string,
    agentID: string,
    patch: { name?: string | undefined; role?: AgentRecord['role'] | undefined; disabled?: boolean | undefined },
  ): Promise<AgentRecord | null> {
    this.storable({ name: patch.name });
    return this.write([orgID], bindRule('updateAgent', orgID, agentID, patch));
  }

  setupAgent(linkHash: string, passwordHash: string, session: NewAgentSession): Promise<AgentSessionMark | null> {
    this.storable({ userAgent: session.userAgent });
    return this.write([], bindRule('setupAgent', linkHash, passwordHash, session, Date.now()));
  }

  openAgentSession(orgID: string, agentID: string, session: NewAgentSession): Promise<AgentSessionRecord> {
    this.storable({ userAgent: session.userAgent });
    return this.write([orgID], bindRule('openAgentSession', orgID, agentID, session));
  }

  refreshAgentSession(
    sessionID: string,
    presentedHash: string,
    next: { hash: string; expiresAt: string },
  ): Promise<RefreshOutcome> {
    return this.write([], bindRule('refreshAgentSession', sessionID, presentedHash, next));
  }

  getAgentSession(sessionID: string): Promise<AgentSessionMark | null> {
    return this.db.reads.getAgentSession(sessionID);
  }

  listAgentSessions(agentID: string): Promise<AgentSessionRecord[]> {
    return this.db.reads.listAgentSessions(agentID);
  }

  revokeAgentSessions(orgID: string, agentID: string, sessionID: string | null): Promise<number> {
    return this.write([orgID], bindRule('revokeAgentSessions', orgID, agentID, sessionID));
  }

  // ---- inbox, state, notes ----

  inbox(filter: InboxFilter, snapshot: number, before: number | null, limit: number): Promise<InboxRow[]> {
    return this.db.reads.inbox(filter, snapshot, before, limit);
  }

  async searchInbox(filter: InboxFilter, q: string, offset: number, limit: number): Promise<InboxRow[]> {
    const terms = searchTerms(q);
    return terms.length === 0 ? [] : this.db.reads.searchInbox(filter, terms, offset, limit);
  }

  inboxCounts(orgID: string, agentID: string | null): Promise<InboxCounts> {
    return this.db.reads.inboxCounts(orgID, agentID);
  }

  inboxItem(orgID: string, conversationID: string): Promise<InboxRow | null> {
    return this.db.reads.inboxItem(orgID, conversationID);
  }

  changeState(
    orgID: string,
    conversationID: string,
    change: StateChange,
    actor: Actor,
  ): Promise<{ state: ConversationState; changed: boolean }> {
    return this.write([orgID], bindRule('changeState', orgID, conversationID, change, actor));
  }

  addNote(
    note: { orgID: string; conversationID: string; authorID: string; body: string },
    idem?: IdempotencyWrite<NoteRecord>,
  ): Promise<NoteRecord> {
    this.storable({ body: note.body }, idem);
    return this.write([note.orgID], bindRule('addNote', note, idem));
  }

  listNotes(conversationID: string, beforeSeq: number | null, limit: number): Promise<NoteRecord[]> {
    return this.db.reads.listNotes(conversationID, beforeSeq, limit);
  }

  // ---- webhooks ----

  createWebhookEndpoint(
    input: NewWebhookEndpoint,
    idem?: IdempotencyWrite<WebhookEndpointRecord>,
  ): Promise<WebhookEndpointRecord> {
    this.storable({ url: input.url, description: input.description, events: input.events.join(',') }, idem);
    return this.write([input.orgID], bindRule('createWebhookEndpoint', input, idem));
  }

  listWebhookEndpoints(orgID: string): Promise<WebhookEndpointRecord[]> {
    return this.db.reads.listWebhookEndpoints(orgID);
  }

  getWebhookEndpoint(orgID: string, endpointID: string): Promise<WebhookEndpointRecord | null> {
    return this.db.reads.getWebhookEndpoint(orgID, endpointID);
  }

  updateWebhookEndpoint(
    orgID: string,
    endpointID: string,
    patch: WebhookEndpointPatch,
  ): Promise<WebhookEndpointRecord | null> {
    this.storable({ url: patch.url, description: patch.description, events: patch.events?.join(',') });
    return this.write([orgID], bindRule('updateWebhookEndpoint', orgID, endpointID, patch));
  }

  disableWebhookEndpoint(orgID: string, endpointID: string, reason: string): Promise<WebhookEndpointRecord | null> {
    return this.write([orgID], bindRule('disableWebhookEndpoint', orgID, endpointID, reason));
  }

  rotateWebhookSecret(
    orgID: string,
    endpointID: string,
    secret: string,
    overlapMs: number,
    idem?: IdempotencyWrite<WebhookEndpointRecord | null>,
  ): Promise<WebhookEndpointRecord | null> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('rotateWebhookSecret', orgID, endpointID, secret, overlapMs, idem));
  }

  listWebhookDeliveries(endpointID: string, beforeN: number | null, limit: number): Promise<WebhookDeliveryRecord[]> {
    return this.db.reads.listWebhookDeliveries(endpointID, beforeN, limit);
  }

  getWebhookDelivery(endpointID: string, deliveryID: string): Promise<WebhookDeliveryRecord | null> {
    return this.db.reads.getWebhookDelivery(endpointID, deliveryID);
  }

  webhookOrgs(): Promise<string[]> {
    return this.db.reads.webhookOrgs();
  }

  retryWebhookDelivery(
    orgID: string,
    endpointID: string,
    deliveryID: string,
    idem?: IdempotencyWrite<WebhookDeliveryRecord | null>,
  ): Promise<WebhookDeliveryRecord | null> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('retryWebhookDelivery', orgID, endpointID, deliveryID, idem));
  }

  replayWebhookDeliveries(
    orgID: string,
    endpointID: string,
    since: string,
    idem?: IdempotencyWrite<number | null>,
  ): Promise<number | null> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('replayWebhookDeliveries', orgID, endpointID, since, idem));
  }

  enqueueWebhookTest(
    orgID: string,
    endpointID: string,
    idem?: IdempotencyWrite<WebhookDeliveryRecord | null>,
  ): Promise<WebhookDeliveryRecord | null> {
    this.storable({}, idem);
    return this.write([orgID], bindRule('enqueueWebhookTest', orgID, endpointID, idem));
  }

  claimWebhookDeliveries(claim: WebhookClaim): Promise<WebhookClaimResult> {
    return this.maintenance(bindRule('claimWebhookDeliveries', claim));
  }

  purgeWebhookDeliveries(before: string, limit: number): Promise<number> {
    return this.maintenance(bindRule('purgeWebhookDeliveries', before, limit));
  }

  releaseWebhookDeliveries(
    deliveryIDs: readonly string[],
    owner: string,
    now: number,
    cursors: Record<string, number>,
  ): Promise<number> {
    return this.maintenance(bindRule('releaseWebhookDeliveries', deliveryIDs, owner, now, cursors));
  }

  trimWebhookOutbox(): Promise<number> {
    return this.maintenance(bindRule('trimWebhookOutbox'));
  }

  recordWebhookAttempts(
    attempts: readonly WebhookAttempt[],
    progress: WebhookRangeProgress,
  ): Promise<WebhookAttemptResult[]> {
    return this.maintenance(bindRule('recordWebhookAttempts', attempts, progress));
  }

  // ---- health and notifications ----

  pendingWrites(): number | null {
    return this.db.pendingWrites?.() ?? null;
  }

  writesFailing(): boolean {
    return this.failing;
  }

  async probeWrite(): Promise<void> {
    await this.write([], bindRule('probeWrite'));
  }

  onCommit(listener: CommitListener): () => void {
    return this.db.onCommit(listener);
  }

  watch(orgID: string): Interest {
    return this.db.watch(orgID);
  }

  onActivity(listener: ActivityListener): () => void {
    return this.db.onActivity(listener);
  }

  feedStats(): FeedStats | null {
    return this.db.feedStats?.() ?? null;
  }

  publishEphemeral(message: Ephemeral): void {
    this.db.publishEphemeral(message);
  }

  onEphemeral(listener: EphemeralListener): () => void {
    return this.db.onEphemeral(listener);
  }

  notificationsLive(): boolean {
    return this.db.notificationsLive();
  }

  onResync(listener: () => void): () => void {
    return this.db.onResync(listener);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

import { randomBytes } from 'node:crypto';
import { derivedID, newID, nowISO } from '@concierge/ids';
import { WEBHOOK_TEST_EVENT, type WebhookEventType } from '@concierge/protocol';
import type { NewApiKey, WriteResult, WriteTx } from './dialect.js';
import { renderReplay } from './replay-renderers.js';
import { step, type Rule } from './steps.js';
import {
  AgentExists,
  conversationState,
  DEFAULT_TIER,
  IdempotencyKeyTaken,
  NotFoundInStore,
  type Actor,
  type AgentRecord,
  type AgentSessionMark,
  type AgentSessionRecord,
  type ConversationState,
  type NewAgent,
  type NewAgentSession,
  type NewSignInLink,
  type NoteRecord,
  type RefreshOutcome,
  type StateChange,
  type ApiKeyRecord,
  type ConversationRecord,
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
  type StoredEvent,
} from './store.js';
import type {
  ClaimedWebhookDelivery,
  NewWebhookEndpoint,
  WebhookAttempt,
  WebhookAttemptResult,
  WebhookClaim,
  WebhookClaimResult,
  WebhookDeliveryRecord,
  WebhookEndpointPatch,
  WebhookEndpointRecord,
  WebhookOutboxRow,
  WebhookRangeProgress,
} from './webhook-records.js';

/**
 * Every write of the store, once, for both dialects: what is written, in which order, and what it means (seqs,
 * unread counts, idempotency records, the cascade of a member's removal, the first org). Each runs inside one
 * group-commit transaction (so it may throw to undo itself alone; see the group-commit files) and returns its
 * value with the events it appended, which are published only after the batch is durable.
 */

const nothing = <T>(value: T): WriteResult<T> => ({ value, events: [] });

/**
 * Records the idempotency key in the write's own transaction, after the write: a live record already there means
 * another request (on any instance) committed first, so throwing rolls this write back and the caller replays
 * the winner's answer. `render` names the renderer that makes the exact answer a replay will send.
 */
function* recordIdempotency<T>(tx: WriteTx, idem: IdempotencyWrite<T> | undefined, value: T): Rule<void> {
  if (idem === undefined) return;
  const response = renderReplay(idem.render, value);
  const recorded = yield* step(tx.recordIdempotency(idem.scope, idem.fingerprint, response, Date.now()));
  if (!recorded) throw new IdempotencyKeyTaken();
}

/**
 * The transactional outbox: the event goes into the outbox by the rule that makes it, in its transaction, so an
 * acknowledged write always has its deliveries to come (and a rolled-back one never does). One row per event
 * whatever the number of endpoints: the deliverer's claim makes the per-endpoint deliveries from it
 * (`claimWebhookDeliveries`), off the request's path. `seq` is the event's seq in its org; `data` is the event's
 * storage-level data, which the deliverer renders into the wire shape. A new event type is one more call like
 * these.
 */
function* outbox(
  tx: WriteTx,
  orgID: string,
  seq: number,
  type: WebhookEventType,
  data: unknown,
  hooked = false,
): Rule<void> {
  yield* step(tx.enqueueWebhooks(orgID, seq, type, JSON.stringify(data), nowISO(), hooked));
}

function newOrg(name: string): OrgRecord {
  return {
    id: newID('org'),
    name,
    signingSecret: new Uint8Array(randomBytes(32)),
    createdAt: nowISO(),
    defaultTier: DEFAULT_TIER,
  };
}

export function* createOrg(tx: WriteTx, name: string): Rule<WriteResult<OrgRecord>> {
  const org = newOrg(name);
  yield* step(tx.insertOrg(org));
  return nothing(org);
}

/** Creates the org and its first key only if the database has none yet; instances starting at once make one. */
export function* createFirstOrg(tx: WriteTx, name: string, key: NewApiKey): Rule<WriteResult<OrgRecord | null>> {
  yield* step(tx.lockFirstOrg());
  if (yield* step(tx.anyOrg())) return nothing(null);
  const org = newOrg(name);
  yield* step(tx.insertOrg(org));
  yield* step(tx.insertApiKey(org.id, key, org.createdAt));
  return nothing(org);
}

export function* createApiKey(tx: WriteTx, orgID: string, key: NewApiKey): Rule<WriteResult<ApiKeyRecord>> {
  if (!(yield* step(tx.orgExists(orgID)))) throw new NotFoundInStore('org');
  const createdAt = nowISO();
  yield* step(tx.insertApiKey(orgID, key, createdAt));
  return nothing({ id: key.id, orgID, hint: key.hint, createdAt, revokedAt: null });
}

export function* revokeApiKey(tx: WriteTx, orgID: string, keyID: string): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.revokeApiKey(orgID, keyID, nowISO())));
}

/**
 * Creates the member, or updates the fields given (the others keep their values; `attributes` is replaced whole).
 * `restore` also ends an archive, moving `tokensValidAfter` to now so that a token minted while the archive was
 * being written stays dead; `live` leaves an archived member untouched and returns it, for the caller to refuse.
 */
export function* upsertMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  profile: MemberProfile,
  mode: MemberUpsertMode,
  idem: IdempotencyWrite<MemberRecord> | undefined,
): Rule<WriteResult<MemberRecord>> {
  const now = nowISO();
  const existing = yield* step(tx.findMember(orgID, externalUserID));
  let member: MemberRecord;
  if (existing === null) {
    member = {
      id: newID('mem'),
      orgID,
      externalUserID,
      displayName: profile.displayName ?? null,
      email: profile.email ?? null,
      tier: profile.tier ?? null,
      attributes: profile.attributes ?? null,
      tokensValidAfter: 0,
      archivedAt: null,
      listSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
    member.listSeq = yield* step(tx.insertMember(member));
  } else if (existing.archivedAt !== null && mode === 'live') {
    member = existing;
  } else {
    const restoring = existing.archivedAt !== null && mode === 'restore';
    member = {
      ...existing,
      displayName: profile.displayName !== undefined ? profile.displayName : existing.displayName,
      email: profile.email !== undefined ? profile.email : existing.email,
      tier: profile.tier !== undefined ? profile.tier : existing.tier,
      attributes: profile.attributes !== undefined ? profile.attributes : existing.attributes,
      ...(restoring && { archivedAt: null, tokensValidAfter: Math.max(existing.tokensValidAfter, Date.now()) }),
      updatedAt: now,
    };
    yield* step(tx.updateMemberProfile(member));
  }
  yield* recordIdempotency(tx, idem, member);
  return nothing(member);
}

/**
 * Archives (offboards) the member: `archivedAt` set and `tokensValidAfter` moved to `at`, so every token issued so
 * far is refused by the same check as a revocation, wherever the signal is lost. Their conversations stay.
 */
export function* archiveMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  at: number,
): Rule<WriteResult<MemberRecord | null>> {
  const existing = yield* step(tx.findMember(orgID, externalUserID));
  if (existing === null || existing.archivedAt !== null) return nothing(existing);
  const now = nowISO();
  const member: MemberRecord = {
    ...existing,
    archivedAt: now,
    tokensValidAfter: Math.max(existing.tokensValidAfter, at),
    updatedAt: now,
  };
  yield* step(tx.updateMemberProfile(member));
  return nothing(member);
}

/**
 * Erases the member with their messages, events, conversations and the webhook deliveries about them (children
 * first; the deliveries while the conversations still name them), then queues `member.deleted`. False if there was
 * none.
 */
export function* deleteMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  idem: IdempotencyWrite<boolean> | undefined,
): Rule<WriteResult<boolean>> {
  const member = yield* step(tx.findMember(orgID, externalUserID));
  if (member === null) {
    yield* recordIdempotency(tx, idem, false);
    return nothing(false);
  }
  yield* step(tx.deleteMemberMessages(member.id));
  yield* step(tx.deleteMemberEvents(member.id));
  yield* step(tx.deleteMemberWebhookDeliveries(orgID, member.id));
  yield* step(tx.deleteMemberConversations(member.id));
  yield* step(tx.deleteMember(member.id));
  // member.deleted has no event in the log (the member's events are gone); it takes a seq for its outbox row.
  const seq = yield* step(tx.nextSeq(orgID));
  if (seq === null) throw new NotFoundInStore('org');
  yield* outbox(tx, orgID, seq, 'member.deleted', { externalUserID, deletedAt: nowISO() });
  yield* recordIdempotency(tx, idem, true);
  return nothing(true);
}

export function* setOrgDefaultTier(tx: WriteTx, orgID: string, tier: string): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.updateOrgDefaultTier(orgID, tier)));
}

export function* revokeMemberTokens(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  at: number,
  idem: IdempotencyWrite<MemberRecord | null> | undefined,
): Rule<WriteResult<MemberRecord | null>> {
  const member = yield* step(tx.revokeMemberTokens(orgID, externalUserID, at, nowISO()));
  yield* recordIdempotency(tx, idem, member);
  return nothing(member);
}

/** A conversation takes the org's next seq (its `last_seq`, the newest-activity order) and a `conversation` event. */
export function* createConversation(
  tx: WriteTx,
  input: NewConversation,
  idem: IdempotencyWrite<ConversationRecord> | undefined,
): Rule<WriteResult<ConversationRecord>> {
  const head = yield* step(tx.claimSeqForMember(input.orgID, input.memberID));
  if (head === null) throw new NotFoundInStore('member');
  const conversation: ConversationRecord = {
    id: newID('conv'),
    orgID: input.orgID,
    memberID: input.memberID,
    externalUserID: head.externalUserID,
    type: input.type,
    title: input.title,
    createdAt: nowISO(),
    lastMessageAt: null,
    lastSeq: head.seq,
    memberReadSeq: 0,
    conciergeReadSeq: 0,
    unreadCount: 0,
    status: 'open',
    assigneeID: null,
    awaitingReply: false,
    stateUpdatedAt: nowISO(),
    stateUpdatedBy: { kind: 'member', id: head.externalUserID },
  };
  yield* step(tx.insertConversation(conversation));
  const event: StoredEvent = {
    orgID: input.orgID,
    seq: head.seq,
    type: 'conversation',
    memberID: input.memberID,
    conversationID: conversation.id,
    message: null,
    payload: conversation,
  };
  yield* step(tx.appendEvent(event));
  yield* outbox(tx, input.orgID, head.seq, 'conversation.created', conversation);
  yield* recordIdempotency(tx, idem, conversation);
  return { value: conversation, events: [event] };
}

/**
 * A message takes the org's next seq. Messages from the other side count as unread for the member until their
 * read mark passes them; the member's own do not.
 */
export function* insertMessage(
  tx: WriteTx,
  input: NewMessage,
  idem: IdempotencyWrite<MessageRecord> | undefined,
): Rule<WriteResult<MessageRecord>> {
  const draft = {
    id: newID('msg'),
    orgID: input.orgID,
    conversationID: input.conversationID,
    type: input.type,
    authorID: input.authorID,
    body: input.body,
    via: input.via,
    createdAt: nowISO(),
  };
  const head = yield* step(tx.appendMessage(draft, input.type === 'member' ? 0 : 1));
  if (head === null) throw new NotFoundInStore('conversation');
  const message: MessageRecord = { ...draft, seq: head.seq };
  const event: StoredEvent = {
    orgID: input.orgID,
    seq: head.seq,
    type: 'message',
    memberID: head.memberID,
    conversationID: input.conversationID,
    message,
    payload: null,
  };
  // The hot path: an org without an enabled endpoint (most) pays no statement for the outbox.
  if (head.webhooks) yield* outbox(tx, input.orgID, head.seq, 'conversation.message_created', message, true);
  const events = [event];
  // The step set awaitingReply (the member's message: true; the team's: false) and reopened a closed
  // conversation on the member's message; when that changed the state, the team's streams hear of it.
  const fromMember = input.type === 'member';
  const flipped = head.before.awaitingReply !== fromMember || (fromMember && head.before.status === 'closed');
  if (flipped) {
    const conversation = yield* step(tx.conversation(input.orgID, input.conversationID));
    if (conversation === null) throw new NotFoundInStore('conversation');
    const actor: Actor = input.actor ?? { kind: 'member', id: input.authorID };
    const state: ConversationState = {
      ...conversationState(conversation),
      updatedAt: draft.createdAt,
      updatedBy: actor,
    };
    yield* step(tx.setConversationState(conversation.id, state));
    events.push(yield* stateEvent(tx, input.orgID, head.memberID, state, head.webhooks));
  }
  yield* recordIdempotency(tx, idem, message);
  return { value: message, events };
}

/** A read mark only moves forward; when it moves it takes the next seq and a `read` event carrying the new count. */
export function* markRead(
  tx: WriteTx,
  mark: ReadMark,
  idem: IdempotencyWrite<ReadMarkResult> | undefined,
): Rule<WriteResult<ReadMarkResult>> {
  const position = yield* step(tx.messagePosition(mark.conversationID, mark.messageID));
  if (position === null || position.orgID !== mark.orgID) throw new NotFoundInStore('message');
  const moved = yield* step(tx.moveReadMark(mark.reader, mark.conversationID, position.seq));
  const conversation = yield* step(tx.conversation(mark.orgID, mark.conversationID));
  if (conversation === null) throw new NotFoundInStore('conversation');
  const events: StoredEvent[] = [];
  if (moved) {
    const seq = yield* step(tx.nextSeq(mark.orgID));
    if (seq === null) throw new NotFoundInStore('org');
    const event: StoredEvent = {
      orgID: mark.orgID,
      seq,
      type: 'read',
      memberID: conversation.memberID,
      conversationID: mark.conversationID,
      message: null,
      payload: {
        conversationID: mark.conversationID,
        reader: mark.reader,
        readerID: mark.readerID,
        messageID: mark.messageID,
        readAt: nowISO(),
        unreadCount: conversation.unreadCount,
      },
    };
    yield* step(tx.appendEvent(event));
    yield* outbox(tx, mark.orgID, seq, 'conversation.read', event.payload);
    events.push(event);
  }
  const result = { conversation, moved };
  yield* recordIdempotency(tx, idem, result);
  return { value: result, events };
}

export function* purgeIdempotency(tx: WriteTx, before: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeIdempotency(before)));
}

export function* spendTicket(tx: WriteTx, nonce: string, expiresAt: number): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.spendTicket(nonce, expiresAt)));
}

export function* purgeSpentTickets(tx: WriteTx, now: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeSpentTickets(now)));
}

export function* recordResumePoint(tx: WriteTx, point: ResumePoint): Rule<WriteResult<undefined>> {
  yield* step(tx.insertResumePoint(point));
  return nothing(undefined);
}

/**
 * Takes one resume point (the lowest position, or the one at `seq`): a reconnect without a resume point of its own
 * is given the earliest place a stream of its holder stopped, so it may see a message again but never miss one.
 * Another instance may take the same row meanwhile: its delete then finds nothing and the next row is tried.
 */
export function* takeResumePoint(
  tx: WriteTx,
  holder: string,
  stream: string,
  now: number,
  seq: number | null,
): Rule<WriteResult<number | null>> {
  for (const row of yield* step(tx.resumePointRows(holder, stream, now))) {
    if (seq !== null && row.seq !== seq) continue;
    if (yield* step(tx.deleteResumePoint(row.n))) return nothing(row.seq);
  }
  return nothing(null);
}

export function* purgeResumePoints(tx: WriteTx, now: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeResumePoints(now)));
}

/** As large as a big message, not a byte: on a full disk a tiny write may still fit where a client's does not. */
export function* probeWrite(tx: WriteTx): Rule<WriteResult<undefined>> {
  yield* step(tx.writeProbe(randomBytes(64 * 1024)));
  return nothing(undefined);
}

/**
 * Takes the next seq for a `conversation.updated` event (team streams only) and appends it, with its webhook
 * deliveries (`webhooks` false: the caller knows the org has no enabled endpoint).
 */
function* stateEvent(
  tx: WriteTx,
  orgID: string,
  memberID: string,
  state: ConversationState,
  webhooks = true,
): Rule<StoredEvent> {
  const seq = yield* step(tx.nextSeq(orgID));
  if (seq === null) throw new NotFoundInStore('org');
  const event: StoredEvent = {
    orgID,
    seq,
    type: 'conversation.updated',
    memberID,
    conversationID: state.conversationID,
    message: null,
    payload: state,
  };
  yield* step(tx.appendEvent(event));
  if (webhooks) yield* outbox(tx, orgID, seq, 'conversation.updated', state);
  return event;
}

// ---- agents ----

export function* createAgent(tx: WriteTx, input: NewAgent, link: NewSignInLink): Rule<WriteResult<AgentRecord>> {
  if (!(yield* step(tx.orgExists(input.orgID)))) throw new NotFoundInStore('org');
  const agent: AgentRecord = {
    id: newID('agt'),
    orgID: input.orgID,
    email: input.email,
    name: input.name,
    role: input.role,
    createdAt: nowISO(),
    disabledAt: null,
  };
  if (!(yield* step(tx.insertAgent(agent)))) throw new AgentExists();
  yield* step(tx.insertSignInLink(link.hash, agent.id, link.expiresAt));
  return nothing(agent);
}

export function* addSignInLink(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  link: NewSignInLink,
): Rule<WriteResult<boolean>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null || agent.disabledAt !== null) return nothing(false);
  yield* step(tx.insertSignInLink(link.hash, agent.id, link.expiresAt));
  return nothing(true);
}

export function* updateAgent(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  patch: { name?: string | undefined; role?: AgentRecord['role'] | undefined; disabled?: boolean | undefined },
): Rule<WriteResult<AgentRecord | null>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null) return nothing(null);
  const now = nowISO();
  const next: AgentRecord = {
    ...agent,
    name: patch.name ?? agent.name,
    role: patch.role ?? agent.role,
    disabledAt: patch.disabled === undefined ? agent.disabledAt : patch.disabled ? (agent.disabledAt ?? now) : null,
  };
  yield* step(tx.updateAgent(next));
  // Disabling ends every session with it, so re-enabling never revives a session (or a stolen cookie).
  if (next.disabledAt !== null && agent.disabledAt === null) yield* step(tx.revokeAgentSessions(agent.id, null, now));
  return nothing(next);
}

function newSession(agent: AgentRecord, input: NewAgentSession): AgentSessionRecord {
  const now = nowISO();
  return {
    id: input.id,
    agentID: agent.id,
    orgID: agent.orgID,
    refreshHash: input.refreshHash,
    previousHash: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: input.expiresAt,
    userAgent: input.userAgent,
    revokedAt: null,
  };
}

/** Spends the link, sets the password and opens a session: all or nothing, so a link never half-works. */
export function* setupAgent(
  tx: WriteTx,
  linkHash: string,
  passwordHash: string,
  input: NewAgentSession,
  now: number,
): Rule<WriteResult<AgentSessionMark | null>> {
  const agentID = yield* step(tx.spendSignInLink(linkHash, now, new Date(now).toISOString()));
  if (agentID === null) return nothing(null);
  const agent = yield* agentByID(tx, agentID);
  if (agent === null || agent.disabledAt !== null) throw new LinkRefused();
  // Every password of one email shares the email's KDF and salt, so one KDF run at sign-in checks them all.
  const kdf = passwordHash.slice(0, passwordHash.lastIndexOf('$'));
  if ((yield* step(tx.ensureAgentPerson(agent.email, kdf))) !== kdf) throw new PasswordKdfMoved();
  yield* step(tx.setAgentPassword(agent.id, passwordHash));
  // A new password ends the sessions opened with the old one: a session proves its holder knew the password, and
  // it lets them switch to the email's other orgs whose password is the same (docs/auth.md, "Several orgs").
  yield* step(tx.revokeAgentSessions(agent.id, null, new Date(now).toISOString()));
  const session = newSession(agent, input);
  yield* step(tx.insertAgentSession(session));
  return nothing({ session, agent });
}

/**
 * Thrown when a password was hashed with a KDF other than its email's (a first password set for the same email at
 * the same moment recorded another salt first): nothing is written, and the caller hashes again with the one now
 * recorded.
 */
export class PasswordKdfMoved extends Error {
  constructor() {
    super("the email's password KDF is another one");
    this.name = 'PasswordKdfMoved';
  }
}

/** Thrown to undo a spent link whose agent was disabled meanwhile (the link stays unspent). */
export class LinkRefused extends Error {
  constructor() {
    super('sign-in link refused');
    this.name = 'LinkRefused';
  }
}

function* agentByID(tx: WriteTx, agentID: string): Rule<AgentRecord | null> {
  // The link names the agent alone; agent ids are unique across orgs.
  return yield* step(tx.findAgent(null, agentID));
}

export function* openAgentSession(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  input: NewAgentSession,
): Rule<WriteResult<AgentSessionRecord>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null || agent.disabledAt !== null) throw new NotFoundInStore('agent');
  const session = newSession(agent, input);
  yield* step(tx.insertAgentSession(session));
  return nothing(session);
}

/**
 * Refresh-token rotation (OAuth 2.0 Security BCP, "refresh token rotation"): the current secret is swapped for a
 * new one; the one it replaced, shown again, means two parties hold the cookie, so the session ends for both.
 */
export function* refreshAgentSession(
  tx: WriteTx,
  sessionID: string,
  presentedHash: string,
  next: { hash: string; expiresAt: string },
): Rule<WriteResult<RefreshOutcome>> {
  const session = yield* step(tx.agentSession(sessionID));
  const now = nowISO();
  if (session === null || session.revokedAt !== null || session.expiresAt <= now) return nothing({ kind: 'invalid' });
  if (session.previousHash !== null && session.previousHash === presentedHash) {
    yield* step(tx.revokeAgentSessions(session.agentID, session.id, now));
    return nothing({ kind: 'reused' });
  }
  if (session.refreshHash !== presentedHash) return nothing({ kind: 'invalid' });
  const agent = yield* step(tx.findAgent(session.orgID, session.agentID));
  if (agent === null || agent.disabledAt !== null) return nothing({ kind: 'invalid' });
  yield* step(tx.rotateAgentSession(session.id, next.hash, presentedHash, now, next.expiresAt));
  return nothing({
    kind: 'rotated',
    agent,
    session: {
      ...session,
      refreshHash: next.hash,
      previousHash: presentedHash,
      lastUsedAt: now,
      expiresAt: next.expiresAt,
    },
  });
}

export function* revokeAgentSessions(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  sessionID: string | null,
): Rule<WriteResult<number>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null) return nothing(0);
  return nothing(yield* step(tx.revokeAgentSessions(agent.id, sessionID, nowISO())));
}

// ---- conversation state and notes ----

/** Assign, unassign, close, reopen: idempotent; a change takes a seq and a `conversation.updated` event. */
export function* changeState(
  tx: WriteTx,
  orgID: string,
  conversationID: string,
  change: StateChange,
  actor: Actor,
): Rule<WriteResult<{ state: ConversationState; changed: boolean }>> {
  const conversation = yield* step(tx.conversation(orgID, conversationID));
  if (conversation === null) throw new NotFoundInStore('conversation');
  const current = conversationState(conversation);
  const status = 'status' in change ? change.status : current.status;
  const assigneeID = 'assign' in change ? change.assign : current.assigneeID;
  if (status === current.status && assigneeID === current.assigneeID)
    return nothing({ state: current, changed: false });
  if (assigneeID !== null) {
    const agent = yield* step(tx.findAgent(orgID, assigneeID));
    if (agent === null) throw new NotFoundInStore('agent');
  }
  const state: ConversationState = { ...current, status, assigneeID, updatedAt: nowISO(), updatedBy: actor };
  yield* step(tx.setConversationState(conversationID, state));
  const event = yield* stateEvent(tx, orgID, conversation.memberID, state);
  return { value: { state, changed: true }, events: [event] };
}

export function* addNote(
  tx: WriteTx,
  input: { orgID: string; conversationID: string; authorID: string; body: string },
  idem: IdempotencyWrite<NoteRecord> | undefined,
): Rule<WriteResult<NoteRecord>> {
  const conversation = yield* step(tx.conversation(input.orgID, input.conversationID));
  if (conversation === null) throw new NotFoundInStore('conversation');
  const seq = yield* step(tx.nextSeq(input.orgID));
  if (seq === null) throw new NotFoundInStore('org');
  const note: NoteRecord = { id: newID('note'), ...input, createdAt: nowISO(), seq };
  yield* step(tx.insertNote(note));
  const event: StoredEvent = {
    orgID: input.orgID,
    seq,
    type: 'note',
    memberID: conversation.memberID,
    conversationID: input.conversationID,
    message: null,
    payload: { conversationID: input.conversationID, note },
  };
  yield* step(tx.appendEvent(event));
  yield* recordIdempotency(tx, idem, note);
  return { value: note, events: [event] };
}

// ---- webhooks ----

export function* createWebhookEndpoint(
  tx: WriteTx,
  input: NewWebhookEndpoint,
  idem: IdempotencyWrite<WebhookEndpointRecord> | undefined,
): Rule<WriteResult<WebhookEndpointRecord>> {
  if (!(yield* step(tx.orgExists(input.orgID)))) throw new NotFoundInStore('org');
  const now = nowISO();
  const endpoint: WebhookEndpointRecord = {
    id: newID('wh'),
    orgID: input.orgID,
    url: input.url,
    events: input.events,
    description: input.description,
    secret: input.secret,
    previousSecret: null,
    previousSecretExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    disabledAt: null,
    disabledReason: null,
    failingSince: null,
    outboxSeq: 0,
    rangeOwner: null,
    rangeUntil: null,
    rangeTo: null,
  };
  yield* step(tx.insertWebhookEndpoint(endpoint));
  // It gets the events committed from now on, none from before.
  yield* step(tx.resetWebhookCursor(endpoint.id));
  yield* recordIdempotency(tx, idem, endpoint);
  return nothing(endpoint);
}

/** Enabling again forgets the failing run, so the 5-day clock starts over. Null when there is no such endpoint. */
export function* updateWebhookEndpoint(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  patch: WebhookEndpointPatch,
): Rule<WriteResult<WebhookEndpointRecord | null>> {
  const existing = yield* step(tx.webhookEndpoint(orgID, endpointID));
  if (existing === null) return nothing(null);
  const now = nowISO();
  const next: WebhookEndpointRecord = {
    ...existing,
    url: patch.url ?? existing.url,
    events: patch.events ?? existing.events,
    description: patch.description !== undefined ? patch.description : existing.description,
    updatedAt: now,
  };
  if (patch.enabled === true) Object.assign(next, { disabledAt: null, disabledReason: null, failingSince: null });
  if (patch.enabled === false && existing.disabledAt === null)
    Object.assign(next, { disabledAt: now, disabledReason: 'disabled' });
  yield* step(tx.updateWebhookEndpoint(next));
  // Enabled again: the events of the time it was disabled are not sent (none were while it was), the next ones are.
  if (existing.disabledAt !== null && next.disabledAt === null) yield* step(tx.resetWebhookCursor(endpointID));
  return nothing(next);
}

/** A soft disable (DELETE keeps the endpoint and its deliveries); the first reason and instant stay. */
export function* disableWebhookEndpoint(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  reason: string,
): Rule<WriteResult<WebhookEndpointRecord | null>> {
  const existing = yield* step(tx.webhookEndpoint(orgID, endpointID));
  if (existing === null) return nothing(null);
  if (existing.disabledAt !== null) return nothing(existing);
  const now = nowISO();
  const next = { ...existing, disabledAt: now, disabledReason: reason, updatedAt: now };
  yield* step(tx.updateWebhookEndpoint(next));
  return nothing(next);
}

/** The old secret keeps signing beside the new one for `overlapMs`, so receivers can switch with no gap. */
export function* rotateWebhookSecret(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  secret: string,
  overlapMs: number,
  idem: IdempotencyWrite<WebhookEndpointRecord | null> | undefined,
): Rule<WriteResult<WebhookEndpointRecord | null>> {
  const existing = yield* step(tx.webhookEndpoint(orgID, endpointID));
  let next: WebhookEndpointRecord | null = null;
  if (existing !== null) {
    next = {
      ...existing,
      secret,
      previousSecret: existing.secret,
      previousSecretExpiresAt: Date.now() + overlapMs,
      updatedAt: nowISO(),
    };
    yield* step(tx.updateWebhookEndpoint(next));
  }
  yield* recordIdempotency(tx, idem, next);
  return nothing(next);
}

/**
 * Replay: every delivery of the endpoint created since an instant is due again now, each with its own
 * `webhook-id`. The count, or null when the endpoint is not there.
 */
export function* replayWebhookDeliveries(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  since: string,
  idem: IdempotencyWrite<number | null> | undefined,
): Rule<WriteResult<number | null>> {
  const endpoint = yield* step(tx.webhookEndpoint(orgID, endpointID));
  const count = endpoint === null ? null : yield* step(tx.requeueWebhookDeliveries(endpointID, { since }, Date.now()));
  yield* recordIdempotency(tx, idem, count);
  return nothing(count);
}

/** One delivery due again now, with the same `webhook-id`; null when the endpoint or the delivery is not there. */
export function* retryWebhookDelivery(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  deliveryID: string,
  idem: IdempotencyWrite<WebhookDeliveryRecord | null> | undefined,
): Rule<WriteResult<WebhookDeliveryRecord | null>> {
  const endpoint = yield* step(tx.webhookEndpoint(orgID, endpointID));
  let delivery: WebhookDeliveryRecord | null = null;
  if (endpoint !== null && (yield* step(tx.requeueWebhookDeliveries(endpointID, { deliveryID }, Date.now()))) > 0)
    delivery = yield* step(tx.webhookDelivery(endpointID, deliveryID));
  yield* recordIdempotency(tx, idem, delivery);
  return nothing(delivery);
}

/** A `webhook.test` delivery to one endpoint; to a disabled one it goes once the endpoint is enabled again. */
export function* enqueueWebhookTest(
  tx: WriteTx,
  orgID: string,
  endpointID: string,
  idem: IdempotencyWrite<WebhookDeliveryRecord | null> | undefined,
): Rule<WriteResult<WebhookDeliveryRecord | null>> {
  const endpoint = yield* step(tx.webhookEndpoint(orgID, endpointID));
  let delivery: WebhookDeliveryRecord | null = null;
  if (endpoint !== null) {
    delivery = {
      n: 0,
      id: newID('whmsg'),
      orgID,
      endpointID,
      eventType: WEBHOOK_TEST_EVENT,
      data: JSON.stringify({ endpointID }),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: Date.now(),
      leaseOwner: null,
      leaseUntil: null,
      lastAttemptAt: null,
      lastStatusCode: null,
      lastLatencyMs: null,
      lastError: null,
      lastResponseBody: null,
      createdAt: nowISO(),
    };
    yield* step(tx.insertWebhookDelivery(delivery));
  }
  yield* recordIdempotency(tx, idem, delivery);
  return nothing(delivery);
}

/** Rows read at a time when a claim takes over a range (see takeOver). */
const TAKEOVER_PAGE = 1000;

/** The `webhook-id` of the endpoint's delivery of an outbox row: the same whichever instance makes it, and when. */
function outboxDeliveryID(endpointID: string, row: WebhookOutboxRow): string {
  return derivedID('whmsg', Date.parse(row.createdAt), `${endpointID}:${row.seq}`);
}

/** A delivery made from an outbox row by `claim`: not stored (n 0) until its first attempt's outcome is. */
function outboxDelivery(endpoint: WebhookEndpointRecord, row: WebhookOutboxRow, claim: WebhookClaim) {
  const delivery: WebhookDeliveryRecord = {
    n: 0,
    id: outboxDeliveryID(endpoint.id, row),
    orgID: endpoint.orgID,
    endpointID: endpoint.id,
    eventType: row.type,
    data: row.data,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    leaseOwner: claim.owner,
    leaseUntil: claim.leaseUntil,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastLatencyMs: null,
    lastError: null,
    lastResponseBody: null,
    createdAt: row.createdAt,
  };
  return { delivery, endpoint, outboxSeq: row.seq };
}

/**
 * The rows of a range its holder gave up or lost (it stopped, or died and its lease ran out) that it did not
 * record: every one from the cursor up to the range's end whose delivery is not stored, whatever the room, since
 * the cursor cannot pass them until someone records them. Those it recorded are not sent again; those it sent and
 * did not record are, with the same `webhook-id`.
 */
function* takeOver(tx: WriteTx, endpoint: WebhookEndpointRecord, types: string[] | null, end: number) {
  const rows: WebhookOutboxRow[] = [];
  for (let from = endpoint.outboxSeq; from < end;) {
    const read = yield* step(tx.webhookOutboxAfter(endpoint.orgID, from, types, TAKEOVER_PAGE));
    const page = read.rows.filter((r) => r.seq <= end);
    const stored = new Set(yield* step(tx.storedWebhookDeliveries(page.map((r) => outboxDeliveryID(endpoint.id, r)))));
    rows.push(...page.filter((r) => !stored.has(outboxDeliveryID(endpoint.id, r))));
    if (read.rows.length < TAKEOVER_PAGE) break;
    from = read.scannedTo;
  }
  return rows;
}

/**
 * The deliverer's claim. For each enabled endpoint, up to its room (its cap less what this instance holds):
 *
 * - first the due deliveries already stored (retries, replays, tests), leased row by row;
 * - then new ones from the outbox after the endpoint's range, if no other instance holds the range: the range is
 *   leased to this instance up to how far the read looked (rows of types the endpoint does not subscribe to are
 *   passed over), and the deliveries are made in memory, not stored. Each is written once, with its first
 *   attempt's outcome (recordWebhookAttempts), so a delivery costs one write instead of two.
 *
 * The cursor moves up to just below the lowest delivery this instance took and has not recorded (`claim.floors`
 * and what it takes now), and the range is given up once nothing of it is outstanding. If the instance dies, its
 * unrecorded deliveries are still after the cursor, in the outbox; the next claim after the lease ran out takes
 * the range over and sends them (takeOver). Each event becomes one delivery per endpoint, whichever instance
 * claims it; an attempt may be made twice only by two holders of a range, with the same `webhook-id`.
 */
export function* claimWebhookDeliveries(tx: WriteTx, claim: WebhookClaim): Rule<WriteResult<WebhookClaimResult>> {
  const out: ClaimedWebhookDelivery[] = [];
  const ranges: Record<string, number | null> = {};
  const rooms: { endpoint: WebhookEndpointRecord; room: number }[] = [];
  let left = claim.limit;
  for (const endpoint of yield* step(tx.claimableWebhookEndpoints())) {
    const cap = claim.caps[endpoint.id] ?? claim.perEndpoint;
    const room = Math.min(cap - (claim.held[endpoint.id] ?? 0), left);
    if (room <= 0) continue;
    rooms.push({ endpoint, room });
    left -= room;
  }
  if (rooms.length === 0) return nothing({ deliveries: out, ranges });
  const byID = new Map(rooms.map((r) => [r.endpoint.id, r]));
  const due = yield* step(
    tx.leaseDueWebhookDeliveries(
      rooms.map((r) => ({ endpointID: r.endpoint.id, room: r.room })),
      claim.owner,
      claim.now,
      claim.leaseUntil,
    ),
  );
  for (const delivery of due) {
    const r = byID.get(delivery.endpointID);
    if (r === undefined) continue;
    r.room--;
    out.push({ delivery, endpoint: r.endpoint, outboxSeq: null });
  }
  for (const { endpoint, room } of rooms) {
    const mine = endpoint.rangeOwner === claim.owner;
    // Another instance is sending this endpoint's new events, and its lease holds.
    if (endpoint.rangeOwner !== null && !mine && !claim.soleInstance && (endpoint.rangeUntil ?? 0) >= claim.now)
      continue;
    const types = endpoint.events.includes('*') ? null : endpoint.events;
    const taken: WebhookOutboxRow[] = [];
    // Up to where the range now reaches: rows after it are neither taken nor passed over yet.
    let to = mine ? Math.max(endpoint.outboxSeq, endpoint.rangeTo ?? 0) : endpoint.outboxSeq;
    if (!mine && endpoint.rangeTo !== null && endpoint.rangeTo > endpoint.outboxSeq) {
      taken.push(...(yield* takeOver(tx, endpoint, types, endpoint.rangeTo)));
      to = endpoint.rangeTo;
    }
    const more = room - taken.length;
    if (more > 0) {
      const read = yield* step(tx.webhookOutboxAfter(endpoint.orgID, to, types, more));
      taken.push(...read.rows);
      to = read.scannedTo;
    }
    for (const row of taken) out.push(outboxDelivery(endpoint, row, claim));
    const floor = Math.min(claim.floors[endpoint.id] ?? Infinity, taken[0]?.seq ?? Infinity);
    const cursor = Math.max(endpoint.outboxSeq, Math.min(floor - 1, to));
    if (floor === Infinity) {
      // Nothing outstanding: the cursor passes everything looked at, and no range is held.
      ranges[endpoint.id] = null;
      if (cursor !== endpoint.outboxSeq || endpoint.rangeOwner !== null || endpoint.rangeTo !== null)
        yield* step(tx.setWebhookRange(endpoint.id, { cursor, owner: null, until: null, to: null }));
      continue;
    }
    ranges[endpoint.id] = to;
    // A range kept as it was needs no write until half its lease is gone (records renew it too).
    const unchanged = mine && cursor === endpoint.outboxSeq && to === endpoint.rangeTo;
    const fresh = (endpoint.rangeUntil ?? 0) - claim.now > (claim.leaseUntil - claim.now) / 2;
    if (!(unchanged && fresh))
      yield* step(tx.setWebhookRange(endpoint.id, { cursor, owner: claim.owner, until: claim.leaseUntil, to }));
  }
  return nothing({ deliveries: out, ranges });
}

/**
 * A stopping deliverer's queued deliveries, not attempted: the stored ones due again now, and its ranges given up
 * with the cursor below what it did not record, for whichever instance claims next.
 */
export function* releaseWebhookDeliveries(
  tx: WriteTx,
  deliveryIDs: readonly string[],
  owner: string,
  now: number,
  cursors: Record<string, number>,
): Rule<WriteResult<number>> {
  for (const [endpointID, cursor] of Object.entries(cursors))
    yield* step(tx.advanceWebhookRange(endpointID, owner, cursor, now, true));
  return nothing(yield* step(tx.releaseWebhookDeliveries(deliveryIDs, owner, now)));
}

/** Drops the outbox rows every endpoint has made its deliveries from (the deliverer runs it at every poll). */
export function* trimWebhookOutbox(tx: WriteTx): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.trimWebhookOutbox()));
}

/**
 * What an attempt means: a 2xx delivers and ends the endpoint's failing run; anything else is retried at
 * `retryAt` (or given up when there is none), starts the failing run if none is running, and disables the
 * endpoint on a 410 or once the run has lasted `disableAfterMs`.
 */
function* recordWebhookAttempt(
  tx: WriteTx,
  a: WebhookAttempt,
  endpoints: Map<string, WebhookEndpointRecord | null>,
  outboxRows: Map<string, WebhookOutboxRow | null>,
): Rule<WriteResult<WebhookAttemptResult>> {
  const status = a.ok ? 'delivered' : a.retryAt === null || a.gone ? 'failed' : 'pending';
  const nextAttemptAt = a.ok || a.gone ? null : a.retryAt;
  let endpointID: string | null;
  if (a.fresh !== null) {
    // Its row is made now, from the outbox row it was made from: gone when its member was erased meanwhile (then
    // nothing about them is written back), or when another instance took the range over and recorded it.
    // One read per event per batch: its deliveries to every endpoint usually end in the same batch.
    const key = `${a.fresh.orgID} ${a.fresh.seq}`;
    let row = outboxRows.get(key);
    if (row === undefined) {
      row = yield* step(tx.webhookOutboxRow(a.fresh.orgID, a.fresh.seq));
      outboxRows.set(key, row);
    }
    const made =
      row !== null &&
      (yield* step(
        tx.insertAttemptedWebhookDelivery({
          n: 0,
          id: a.deliveryID,
          orgID: a.fresh.orgID,
          endpointID: a.fresh.endpointID,
          eventType: row.type,
          data: row.data,
          status,
          attempts: 1,
          nextAttemptAt,
          leaseOwner: null,
          leaseUntil: null,
          lastAttemptAt: a.at,
          lastStatusCode: a.statusCode,
          lastLatencyMs: a.latencyMs,
          lastError: a.error,
          lastResponseBody: a.responseBody,
          createdAt: row.createdAt,
        }),
      ));
    endpointID = made ? a.fresh.endpointID : null;
  } else
    endpointID = yield* step(
      tx.recordWebhookAttempt({
        deliveryID: a.deliveryID,
        owner: a.owner,
        at: a.at,
        status,
        nextAttemptAt,
        statusCode: a.statusCode,
        latencyMs: a.latencyMs,
        error: a.error,
        responseBody: a.responseBody,
      }),
    );
  if (endpointID === null) return nothing({ recorded: false, disabled: null });
  // One read per endpoint per batch: the batch's own changes are kept in the map as they are written.
  let endpoint = endpoints.get(endpointID);
  if (endpoint === undefined) {
    endpoint = yield* step(tx.webhookEndpointByID(endpointID));
    endpoints.set(endpointID, endpoint);
  }
  if (endpoint === null) return nothing({ recorded: true, disabled: null });
  const update = function* (next: WebhookEndpointRecord): Rule<void> {
    yield* step(tx.updateWebhookEndpoint(next));
    endpoints.set(next.id, next);
  };
  if (a.ok) {
    if (endpoint.failingSince !== null) yield* update({ ...endpoint, failingSince: null });
    return nothing({ recorded: true, disabled: null });
  }
  const failingSince = endpoint.failingSince ?? a.at;
  const reason = a.gone ? 'gone' : a.at - failingSince >= a.disableAfterMs ? 'failing' : null;
  if (reason !== null && endpoint.disabledAt === null) {
    const now = nowISO(a.at);
    const disabled = { ...endpoint, failingSince, disabledAt: now, disabledReason: reason, updatedAt: now };
    yield* update(disabled);
    return nothing({ recorded: true, disabled });
  }
  if (endpoint.failingSince === null) yield* update({ ...endpoint, failingSince });
  return nothing({ recorded: true, disabled: null });
}

/**
 * Many attempts in one write: the deliverer records what finished meanwhile together, one transaction for all,
 * and moves its ranges on past what this write records (in the same transaction, so a cursor never passes a
 * delivery whose row did not commit).
 */
export function* recordWebhookAttempts(
  tx: WriteTx,
  attempts: readonly WebhookAttempt[],
  progress: WebhookRangeProgress,
): Rule<WriteResult<WebhookAttemptResult[]>> {
  const results: WebhookAttemptResult[] = [];
  const endpoints = new Map<string, WebhookEndpointRecord | null>();
  const outboxRows = new Map<string, WebhookOutboxRow | null>();
  for (const a of attempts) results.push((yield* recordWebhookAttempt(tx, a, endpoints, outboxRows)).value);
  for (const [endpointID, cursor] of Object.entries(progress.cursors))
    yield* step(tx.advanceWebhookRange(endpointID, progress.owner, cursor, progress.leaseUntil, false));
  return nothing(results);
}

/** Retention: finished deliveries older than `before` go, a bounded number per write so no transaction is huge. */
export function* purgeWebhookDeliveries(tx: WriteTx, before: string, limit: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeWebhookDeliveries(before, limit)));
}

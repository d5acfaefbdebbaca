import { newID, nowISO } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import {
  conversationState,
  NotFoundInStore,
  type Actor,
  type ConversationRecord,
  type ConversationState,
  type IdempotencyWrite,
  type MessageRecord,
  type NewConversation,
  type NewMessage,
  type ReadMark,
  type ReadMarkResult,
  type StoredEvent,
} from '../store.js';
import { outbox, recordIdempotency, stateEvent } from './common-steps.js';
import { sendEffect, stateAfterSend } from './send-effect.js';

/** Conversations and messages: a conversation opened, a message sent, a read mark moved. */

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
 * A message takes the org's next seq, and changes its conversation as `sendEffect` says (unread count, awaiting a
 * reply, reopened); when that changes the team state, a `conversation.updated` event follows.
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
  const effect = sendEffect(input.type);
  const head = yield* step(tx.appendMessage(draft, effect));
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
  // When the send changed the team state, the team's streams hear of it.
  const after = stateAfterSend(head.before, effect);
  if (after.status !== head.before.status || after.awaitingReply !== head.before.awaitingReply) {
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

import { newID, nowISO } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import {
  conversationState,
  NotFoundInStore,
  type Actor,
  type ConversationState,
  type IdempotencyWrite,
  type NoteRecord,
  type StateChange,
  type StoredEvent,
} from '../store.js';
import { nothing, recordIdempotency, stateEvent } from './common-steps.js';

/** The team's work on a conversation: its state (assignment, open or closed) and its notes. */

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

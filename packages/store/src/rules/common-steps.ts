import { nowISO } from '@concierge/ids';
import type { WebhookEventType } from '@concierge/protocol';
import type { WriteResult, WriteTx } from '../dialect.js';
import { renderReplay } from '../replay-renderers.js';
import { step, type Rule } from '../steps.js';
import {
  IdempotencyKeyTaken,
  NotFoundInStore,
  type ConversationState,
  type IdempotencyWrite,
  type StoredEvent,
} from '../store.js';

/**
 * The steps several domains' rules share: a result with no events, the idempotency record, the outbox, and the
 * `conversation.updated` event.
 */

export const nothing = <T>(value: T): WriteResult<T> => ({ value, events: [] });

/**
 * Records the idempotency key in the write's own transaction, after the write: a live record already there means
 * another request (on any instance) committed first, so throwing rolls this write back and the caller replays
 * the winner's answer. `render` names the renderer that makes the exact answer a replay will send.
 */
export function* recordIdempotency<T>(tx: WriteTx, idem: IdempotencyWrite<T> | undefined, value: T): Rule<void> {
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
export function* outbox(
  tx: WriteTx,
  orgID: string,
  seq: number,
  type: WebhookEventType,
  data: unknown,
  hooked = false,
): Rule<void> {
  yield* step(tx.enqueueWebhooks(orgID, seq, type, JSON.stringify(data), nowISO(), hooked));
}

/**
 * Takes the next seq for a `conversation.updated` event (team streams only) and appends it, with its webhook
 * deliveries (`webhooks` false: the caller knows the org has no enabled endpoint).
 */
export function* stateEvent(
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

import { newID, nowISO } from '@concierge/ids';
import { WEBHOOK_TEST_EVENT } from '@concierge/protocol';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import { NotFoundInStore, type IdempotencyWrite } from '../store.js';
import type {
  NewWebhookEndpoint,
  WebhookDeliveryRecord,
  WebhookEndpointPatch,
  WebhookEndpointRecord,
} from '../webhook-records.js';
import { nothing, recordIdempotency } from './common-steps.js';

/** What an org does to its webhook endpoints: create, change, disable, rotate the secret, replay, retry, test. */

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

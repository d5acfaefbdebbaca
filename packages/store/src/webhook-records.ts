import type { WebhookEventType } from '@concierge/protocol';
import type { IdempotencyWrite } from './idempotency-records.js';

/**
 * Storage records of webhooks: endpoints, and deliveries, the transactional outbox. A delivery row is
 * written by the same write rule, in the same transaction, as the event that causes it (rules/), so an
 * acknowledged write always has its deliveries, whatever happens to the process after the commit.
 *
 * Instants that the deliverer schedules by (`nextAttemptAt`, `leaseUntil`, secret expiry, `failingSince`) are epoch
 * milliseconds: compared and computed, never shown as stored. Instants shown to people are ISO-8601.
 */

/**
 * The event types whose data is about one conversation, and so about its member: erasing a member deletes their
 * deliveries. Their stored data names the conversation as `conversationID`, or as `id` (`conversation.created`).
 */
export const CONVERSATION_EVENT_TYPES = [
  'conversation.message_created',
  'conversation.created',
  'conversation.read',
  'conversation.updated',
] as const satisfies readonly WebhookEventType[];

/** The same, as an SQL list of literals (fixed strings, nothing from input). */
export const CONVERSATION_EVENT_TYPES_SQL = CONVERSATION_EVENT_TYPES.map((t) => `'${t}'`).join(', ');

export interface WebhookEndpointRecord {
  id: string;
  orgID: string;
  url: string;
  /** Event types, or `*` for all. */
  events: string[];
  description: string | null;
  /** `whsec_` + base64 of the key bytes. */
  secret: string;
  /** The secret before the last rotation: it signs beside `secret` until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  createdAt: string;
  updatedAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
  /** Start of the current run of failed attempts (epoch ms); null after a success. */
  failingSince: number | null;
  /**
   * The outbox cursor: the org's events up to this seq have been made into this endpoint's deliveries. Written
   * only by the claim and by (re-)enabling, never by `updateWebhookEndpoint`.
   */
  outboxSeq: number;
  /**
   * The range lease (migration 8): the instance that is sending this endpoint's new events, those of the outbox
   * after `outboxSeq` up to `rangeTo`, until `rangeUntil` (epoch ms). A delivery made from the outbox is written
   * once, with its first attempt's outcome; until then the range is what keeps every other instance from sending
   * it, and `outboxSeq` stays below it, so a crash leaves it in the outbox for whoever takes the range next. A
   * range given up or lost with rows still unrecorded keeps `rangeTo`: the next holder skips what was recorded.
   */
  rangeOwner: string | null;
  rangeUntil: number | null;
  rangeTo: number | null;
}

export interface NewWebhookEndpoint {
  orgID: string;
  url: string;
  events: string[];
  description: string | null;
  secret: string;
}

export interface WebhookEndpointPatch {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
  /** false disables (reason `disabled`); true enables again and forgets the failing run. */
  enabled?: boolean | undefined;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveryRecord {
  /** Position for paging (newest first): grows with every insert. */
  n: number;
  /** The `webhook-id`: the same on every attempt. */
  id: string;
  orgID: string;
  endpointID: string;
  eventType: string;
  /** The event's storage-level data as JSON text, rendered into the wire shape when sent. */
  data: string;
  status: WebhookDeliveryState;
  attempts: number;
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  lastResponseBody: string | null;
  createdAt: string;
}

/** A claimed delivery, with what sending it needs from its endpoint. */
export interface ClaimedWebhookDelivery {
  delivery: WebhookDeliveryRecord;
  endpoint: WebhookEndpointRecord;
  /**
   * A delivery the claim made from the outbox: its outbox seq. It is not stored yet (`delivery.n` is 0): its row
   * is written with its first attempt's outcome. Null for a stored one (a retry, a replay, a test).
   */
  outboxSeq: number | null;
}

/** What a claim took: the deliveries, and the range each endpoint it looked at is now leased to this instance up to. */
export interface WebhookClaimResult {
  deliveries: ClaimedWebhookDelivery[];
  /** Per endpoint the claim looked at: the end of the range this instance now holds, or null when it holds none. */
  ranges: Record<string, number | null>;
}

/**
 * Where an instance's ranges stand: per endpoint, the cursor it may move the endpoint to (every delivery it took
 * up to there is recorded), written only while it still holds the range; a range whose end the cursor reaches is
 * given up. `leaseUntil` renews the ranges it keeps.
 */
export interface WebhookRangeProgress {
  owner: string;
  leaseUntil: number;
  cursors: Record<string, number>;
}

export interface WebhookClaim {
  /** This instance: the lease holder. */
  owner: string;
  now: number;
  leaseUntil: number;
  /** Deliveries this instance holds per endpoint (in flight, or claimed and queued to go). */
  held: Record<string, number>;
  /** How many deliveries one endpoint may hold, unless `caps` names it. */
  perEndpoint: number;
  /** Endpoints held to fewer (the deliverer's slow ones: no more than their slots). */
  caps: Record<string, number>;
  /** At most this many in all. */
  limit: number;
  /**
   * Per endpoint, the lowest outbox seq this instance took and has not recorded yet (in flight, queued, or its
   * outcome not yet written): the claim moves the endpoint's cursor no further than below it.
   */
  floors: Record<string, number>;
  /**
   * No other instance can be running (SQLite: one instance per file): a range another owner holds is a dead
   * process's, taken over at once instead of when its lease runs out, so a restart after a crash does not hold the
   * endpoint's new events back for a lease.
   */
  soleInstance: boolean;
}

/**
 * One event in the outbox, written in the event's transaction when its org has an enabled endpoint. `seq` is the
 * event's seq in its org, taken under the org's lock, so seqs become visible in order: an endpoint's cursor
 * (every seq up to it has been made into that endpoint's deliveries) can only be passed by what has committed.
 */
export interface WebhookOutboxRow {
  orgID: string;
  seq: number;
  type: string;
  data: string;
  createdAt: string;
}

/** What one attempt came to; the rule decides what it means for the delivery and the endpoint. */
export interface WebhookAttempt {
  deliveryID: string;
  /** A delivery made from the outbox and not stored yet (ClaimedWebhookDelivery.outboxSeq): its row is made now. */
  fresh: { orgID: string; endpointID: string; seq: number } | null;
  owner: string;
  at: number;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  /** When to try again after a failure (from the retry schedule, with jitter); null: give up. */
  retryAt: number | null;
  /** A 410 Gone: disable the endpoint at once. */
  gone: boolean;
  /** Disable the endpoint once it has failed for this long without a success. */
  disableAfterMs: number;
}

export interface WebhookAttemptResult {
  /** False when this instance no longer held the lease (another took the delivery over): nothing recorded. */
  recorded: boolean;
  /** Set when this attempt disabled the endpoint. */
  disabled: WebhookEndpointRecord | null;
}

/** The webhook part of the Store port (store.ts). */
export interface WebhookStore {
  createWebhookEndpoint(
    input: NewWebhookEndpoint,
    idem?: IdempotencyWrite<WebhookEndpointRecord>,
  ): Promise<WebhookEndpointRecord>;
  /** Oldest first, disabled ones included. */
  listWebhookEndpoints(orgID: string): Promise<WebhookEndpointRecord[]>;
  getWebhookEndpoint(orgID: string, endpointID: string): Promise<WebhookEndpointRecord | null>;
  updateWebhookEndpoint(
    orgID: string,
    endpointID: string,
    patch: WebhookEndpointPatch,
  ): Promise<WebhookEndpointRecord | null>;
  /** A soft disable: the endpoint and its deliveries stay listed. Null when there is no such endpoint. */
  disableWebhookEndpoint(orgID: string, endpointID: string, reason: string): Promise<WebhookEndpointRecord | null>;
  /** The new secret signs from now on; the old one beside it for `overlapMs`. */
  rotateWebhookSecret(
    orgID: string,
    endpointID: string,
    secret: string,
    overlapMs: number,
    idem?: IdempotencyWrite<WebhookEndpointRecord | null>,
  ): Promise<WebhookEndpointRecord | null>;
  /**
   * Newest event first (`createdAt`, then `n`), strictly after the delivery numbered `beforeN` in that order when
   * given (none when that delivery is gone).
   */
  listWebhookDeliveries(endpointID: string, beforeN: number | null, limit: number): Promise<WebhookDeliveryRecord[]>;
  getWebhookDelivery(endpointID: string, deliveryID: string): Promise<WebhookDeliveryRecord | null>;
  /** The orgs that have an enabled endpoint (the deliverer's filter for which commits may have made work). */
  webhookOrgs(): Promise<string[]>;
  /** One delivery due again now (same `webhook-id`); null when the endpoint or the delivery is not there. */
  retryWebhookDelivery(
    orgID: string,
    endpointID: string,
    deliveryID: string,
    idem?: IdempotencyWrite<WebhookDeliveryRecord | null>,
  ): Promise<WebhookDeliveryRecord | null>;
  /** Every delivery created since `since` due again now; how many, or null when there is no such endpoint. */
  replayWebhookDeliveries(
    orgID: string,
    endpointID: string,
    since: string,
    idem?: IdempotencyWrite<number | null>,
  ): Promise<number | null>;
  enqueueWebhookTest(
    orgID: string,
    endpointID: string,
    idem?: IdempotencyWrite<WebhookDeliveryRecord | null>,
  ): Promise<WebhookDeliveryRecord | null>;
  /** The deliverer's lease on due deliveries and on ranges of new ones (see WebhookClaim). */
  claimWebhookDeliveries(claim: WebhookClaim): Promise<WebhookClaimResult>;
  /** Deletes at most `limit` delivered or failed deliveries created before `before` (ISO-8601); how many. */
  purgeWebhookDeliveries(before: string, limit: number): Promise<number>;
  /**
   * Gives up `owner`'s leases on deliveries it claimed and will not attempt (due again at `now`), and its ranges
   * (each endpoint's cursor moved to where `cursors` says, the rest left for the next holder); how many rows.
   */
  releaseWebhookDeliveries(
    deliveryIDs: readonly string[],
    owner: string,
    now: number,
    cursors: Record<string, number>,
  ): Promise<number>;
  /** Drops the outbox rows every enabled endpoint of their org has made its deliveries from; how many. */
  trimWebhookOutbox(): Promise<number>;
  /**
   * Records attempts together (one transaction), each stored one only while its owner holds the lease, each fresh
   * one as a new row unless it is already there; then moves the owner's ranges on (`progress`). Results in order.
   */
  recordWebhookAttempts(
    attempts: readonly WebhookAttempt[],
    progress: WebhookRangeProgress,
  ): Promise<WebhookAttemptResult[]>;
}

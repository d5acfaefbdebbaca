import type { ConversationEvent, MessageEvent, ReadEvent } from './events.js';
import type { ConversationState } from './team.js';

/**
 * Webhooks: the event types an endpoint may subscribe to, and what each delivery's body carries.
 * A delivery's body is `{"type", "timestamp", "data"}`; `data` is what the API shows for that object elsewhere
 * (the same payload as the `GET /v1/stream` event), so nothing internal ever reaches a receiver.
 */

/**
 * Every event type an endpoint may name in `events` (`*` names them all). `conversation.message_created` is the
 * hosted API's name. Adding a type is one line here plus the call that enqueues it in its write rule.
 */
export const WEBHOOK_EVENT_TYPES = [
  'conversation.message_created',
  'conversation.created',
  'conversation.read',
  'conversation.updated',
  'member.deleted',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by `POST /v1/webhooks/{id}/test`; never caused by a write, so not subscribable. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export interface MemberDeletedEvent {
  externalUserID: string;
  deletedAt: string;
}

export interface WebhookTestEvent {
  endpointID: string;
}

export interface WebhookEventDataMap {
  'conversation.message_created': MessageEvent;
  'conversation.created': ConversationEvent;
  'conversation.read': ReadEvent;
  'conversation.updated': ConversationState;
  'member.deleted': MemberDeletedEvent;
  'webhook.test': WebhookTestEvent;
}

/** The body of one delivery. */
export type WebhookEvent = {
  [K in keyof WebhookEventDataMap]: { type: K; timestamp: string; data: WebhookEventDataMap[K] };
}[keyof WebhookEventDataMap];

/** `environment` of an endpoint, as the hosted API has it; a self-hosted server is always live. */
export type WebhookEnvironment = 'LIVE' | 'SANDBOX';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  environment: WebhookEnvironment;
  createdAt: string;
  disabledAt: string | null;
  /** Ours: what the org wrote about the endpoint. */
  description: string | null;
  /** Ours: why it was disabled (`deleted`, `disabled`, `gone` after a 410, `failing` for 5 days). */
  disabledReason: string | null;
  /** Ours: when its current run of failed attempts began (null while deliveries succeed). */
  failingSince: string | null;
}

/** `POST /v1/webhooks`: the endpoint with its signing secret, which is shown only here. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  signingSecret: string;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every attempt, so receivers dedupe on it. */
  id: string;
  endpointID: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  createdAt: string;
  /** When the next attempt is due (null once delivered or given up). */
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  /** The last answer's status code (null before any answer, or when the connection failed). */
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  /** Why the last attempt failed without an answer (timeout, connection refused, address refused). */
  lastError: string | null;
  /** At most 64 KiB of the last answer's body. */
  lastResponseBody: string | null;
}

/** The `webhook.disabled` event of `GET /v1/stream` (org scope). */
export interface WebhookDisabledEvent {
  endpointID: string;
  url: string;
  reason: string;
  disabledAt: string;
}

/**
 * Every event type a webhook endpoint may name in `events` (`*` names them all). `conversation.message_created` is
 * the hosted API's name. Adding a type is one line here, its payload in contract/webhook-shapes.ts, and the call
 * that enqueues it in its write rule.
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

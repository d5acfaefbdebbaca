import { z } from 'zod';
import { WEBHOOK_TEST_EVENT } from '../webhook-events.js';
import { conversationStateSchema } from './team.js';
import { conversationEventSchema, messageEventSchema, readEventSchema } from './wire.js';

/**
 * Webhooks: endpoints, deliveries, and the body of each delivery. A body is `{"type", "timestamp", "data"}`; `data`
 * is what the API shows for that object elsewhere (the same payload as the `GET /v1/stream` event), so nothing
 * internal ever reaches a receiver.
 */

const instant = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC with milliseconds.' });

export const webhookEnvironmentSchema = z
  .enum(['LIVE', 'SANDBOX'])
  .meta({ description: 'As the hosted API has it; a self-hosted server is always live.' });

export const webhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    environment: webhookEnvironmentSchema,
    createdAt: instant,
    disabledAt: instant.nullable(),
    description: z.string().nullable().meta({ description: 'Ours: what the org wrote about the endpoint.' }),
    disabledReason: z
      .string()
      .nullable()
      .meta({ description: '`deleted`, `disabled`, `gone` (a 410) or `failing` (5 days of failures).' }),
    failingSince: instant.nullable(),
  })
  .meta({ id: 'WebhookEndpoint' });

export const createdWebhookSchema = webhookEndpointSchema
  .extend({ signingSecret: z.string().meta({ description: '`whsec_` + base64; shown only in this answer.' }) })
  .meta({ id: 'CreatedWebhookEndpoint' });

export const webhookDeliveryStatusSchema = z.enum(['pending', 'delivered', 'failed']);

export const webhookDeliverySchema = z
  .object({
    id: z.string().meta({ description: 'The `webhook-id` header: the same on every attempt.' }),
    endpointID: z.string(),
    eventType: z.string(),
    status: webhookDeliveryStatusSchema,
    attempts: z.number().int(),
    createdAt: instant,
    nextAttemptAt: instant.nullable(),
    lastAttemptAt: instant.nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastLatencyMs: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastResponseBody: z.string().nullable().meta({ description: 'At most 64 KiB of the last answer.' }),
  })
  .meta({ id: 'WebhookDelivery' });

export const listWebhooksResponse = z.object({ data: z.array(webhookEndpointSchema) });
export const deleteWebhookResponse = z.object({ id: z.string(), ok: z.literal(true) });
export const rotateWebhookSecretResponse = z.object({ signingSecret: z.string(), previousSecretExpiresAt: instant });
export const listWebhookDeliveriesResponse = z.object({
  data: z.array(webhookDeliverySchema),
  nextCursor: z.string().nullable(),
});
export const replayWebhooksResponse = z.object({ ok: z.literal(true), count: z.number().int() });

export const memberDeletedEventSchema = z
  .object({ externalUserID: z.string(), deletedAt: instant })
  .meta({ id: 'MemberDeletedEvent' });

export const webhookTestEventSchema = z.object({ endpointID: z.string() }).meta({ id: 'WebhookTestEvent' });

/** What each delivery's `data` is, by its `type`. */
export const WEBHOOK_PAYLOADS = {
  'conversation.message_created': messageEventSchema,
  'conversation.created': conversationEventSchema,
  'conversation.read': readEventSchema,
  'conversation.updated': conversationStateSchema,
  'member.deleted': memberDeletedEventSchema,
  [WEBHOOK_TEST_EVENT]: webhookTestEventSchema,
} as const;

type WebhookType = keyof typeof WEBHOOK_PAYLOADS;

/** The body of one delivery of `type`, a named component of the document. */
const webhookBody = <T extends WebhookType>(type: T, id: string) =>
  z.object({ type: z.literal(type), timestamp: instant, data: WEBHOOK_PAYLOADS[type] }).meta({ id });

/** The body of a delivery, by its `type`: the OpenAPI document's `webhooks`, and the SDK's `WebhookEvent`. */
export const WEBHOOK_BODIES = {
  'conversation.message_created': webhookBody('conversation.message_created', 'ConversationMessageCreatedWebhook'),
  'conversation.created': webhookBody('conversation.created', 'ConversationCreatedWebhook'),
  'conversation.read': webhookBody('conversation.read', 'ConversationReadWebhook'),
  'conversation.updated': webhookBody('conversation.updated', 'ConversationUpdatedWebhook'),
  'member.deleted': webhookBody('member.deleted', 'MemberDeletedWebhook'),
  [WEBHOOK_TEST_EVENT]: webhookBody(WEBHOOK_TEST_EVENT, 'WebhookTestWebhook'),
} as const;

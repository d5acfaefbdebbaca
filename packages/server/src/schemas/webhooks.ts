import { WEBHOOK_EVENT_TYPES } from '@concierge/protocol';
import { z } from 'zod';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from './errors.js';
import { CURSOR_PATTERN, pageLimit, queryString, text } from './fields.js';
import { idempotentHeaders } from './headers.js';

/** Webhook routes: server-only, so every one may answer 403 to a member token. */

const instant = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC with milliseconds.' });

const EVENT_NAMES = [...WEBHOOK_EVENT_TYPES, '*'] as const;

const eventName = z
  .string({ error: 'must be a string' })
  .refine((s) => (EVENT_NAMES as readonly string[]).includes(s), `must be one of ${EVENT_NAMES.join(', ')}`)
  .meta({ enum: [...EVENT_NAMES] });

const events = z
  .array(eventName, { error: 'must be an array of event types' })
  .min(1, 'must name at least one event type (or `*`)')
  .max(EVENT_NAMES.length * 2, 'names too many event types')
  .meta({ description: 'Event types to receive; `*` means all.' });

/** Parsed here (a URL at all, http or https, at most 2,048 characters); the server's policy is checked by the route. */
const url = z
  .string({ error: 'must be a string' })
  .max(2048, 'must be at most 2048 characters')
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL')
  .meta({ format: 'uri', description: 'https (http only with `--webhooks-allow-http`).' });

const description = text(500).nullable().optional();

export const webhookParams = z.object({ id: z.string() });
export const deliveryParams = z.object({ id: z.string(), deliveryID: z.string() });

export const createWebhookBody = z.object({ events, url, description });

export const patchWebhookBody = z.object({
  url: url.optional(),
  events: events.optional(),
  description,
  enabled: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .meta({ description: '`false` disables the endpoint; `true` enables it again (and forgets its failing run).' }),
});

export const replayBody = z.object({
  since: z
    .string({ error: 'must be a string' })
    .refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 instant')
    .meta({ format: 'date-time', description: 'Re-send every delivery of this endpoint created at or after this.' }),
});

export const deliveriesQuery = z.object({
  cursor: queryString(512)
    .optional()
    .meta({ pattern: CURSOR_PATTERN, description: '`nextCursor` of the previous page.' }),
  limit: pageLimit(100, 50),
});

export const webhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    environment: z.enum(['LIVE', 'SANDBOX']),
    createdAt: instant,
    disabledAt: instant.nullable(),
    description: z.string().nullable(),
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

export const webhookDeliverySchema = z
  .object({
    id: z.string().meta({ description: 'The `webhook-id` header: the same on every attempt.' }),
    endpointID: z.string(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
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

const ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;
const WRITE_ERRORS = [...ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'VALIDATION'] as const;

export const createWebhookSchema = {
  operationId: 'createWebhook',
  tags: ['Webhooks'],
  summary: 'Add a webhook endpoint',
  body: createWebhookBody,
  headers: idempotentHeaders,
  response: { 201: createdWebhookSchema, ...errorResponses(...WRITE_ERRORS, 'WEBHOOK_URL_REFUSED') },
};

export const listWebhooksSchema = {
  operationId: 'listWebhooks',
  tags: ['Webhooks'],
  summary: "The org's webhook endpoints, disabled ones included",
  response: { 200: z.object({ data: z.array(webhookEndpointSchema) }), ...errorResponses(...ERRORS) },
};

export const getWebhookSchema = {
  operationId: 'getWebhook',
  tags: ['Webhooks'],
  summary: 'One webhook endpoint',
  params: webhookParams,
  response: { 200: webhookEndpointSchema, ...errorResponses(...ERRORS, 'NOT_FOUND') },
};

export const deleteWebhookSchema = {
  operationId: 'deleteWebhook',
  tags: ['Webhooks'],
  summary: 'Disable a webhook endpoint (soft: it stays listed with `disabledAt`)',
  params: webhookParams,
  response: {
    200: z.object({ id: z.string(), ok: z.literal(true) }),
    ...errorResponses(...ERRORS, 'NOT_FOUND'),
  },
};

export const patchWebhookSchema = {
  operationId: 'updateWebhook',
  tags: ['Webhooks'],
  summary: 'Change the URL, events or description; disable or enable',
  params: webhookParams,
  body: patchWebhookBody,
  response: {
    200: webhookEndpointSchema,
    ...errorResponses(...ERRORS, ...BODY_ERRORS, 'VALIDATION', 'NOT_FOUND', 'WEBHOOK_URL_REFUSED'),
  },
};

export const rotateSecretSchema = {
  operationId: 'rotateWebhookSecret',
  tags: ['Webhooks'],
  summary: 'A new signing secret; the old one signs beside it for 24 hours',
  params: webhookParams,
  headers: idempotentHeaders,
  response: {
    200: z.object({ signingSecret: z.string(), previousSecretExpiresAt: instant }),
    ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND'),
  },
};

export const listDeliveriesSchema = {
  operationId: 'listWebhookDeliveries',
  tags: ['Webhooks'],
  summary: "An endpoint's deliveries, newest first",
  params: webhookParams,
  querystring: deliveriesQuery,
  response: {
    200: z.object({ data: z.array(webhookDeliverySchema), nextCursor: z.string().nullable() }),
    ...errorResponses(...ERRORS, 'VALIDATION', 'INVALID_CURSOR', 'NOT_FOUND'),
  },
};

export const retryDeliverySchema = {
  operationId: 'retryWebhookDelivery',
  tags: ['Webhooks'],
  summary: 'Attempt a delivery again now (same `webhook-id`)',
  params: deliveryParams,
  headers: idempotentHeaders,
  response: { 200: webhookDeliverySchema, ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND') },
};

export const replaySchema = {
  operationId: 'replayWebhooks',
  tags: ['Webhooks'],
  summary: "Re-send every one of the endpoint's deliveries created since an instant",
  params: webhookParams,
  body: replayBody,
  headers: idempotentHeaders,
  response: {
    200: z.object({ ok: z.literal(true), count: z.number().int() }),
    ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND'),
  },
};

export const testWebhookSchema = {
  operationId: 'testWebhook',
  tags: ['Webhooks'],
  summary: 'Send a `webhook.test` event to the endpoint',
  params: webhookParams,
  headers: idempotentHeaders,
  response: { 202: webhookDeliverySchema, ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND') },
};

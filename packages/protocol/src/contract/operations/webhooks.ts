import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../../webhook-events.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from '../errors.js';
import { CURSOR_PATTERN, pageLimit, queryString, text } from '../fields.js';
import { idempotentHeaders } from '../headers.js';
import { operation } from '../operation.js';
import {
  createdWebhookSchema,
  deleteWebhookResponse,
  listWebhookDeliveriesResponse,
  listWebhooksResponse,
  replayWebhooksResponse,
  rotateWebhookSecretResponse,
  webhookDeliverySchema,
  webhookEndpointSchema,
} from '../webhook-shapes.js';

/** Webhook routes: server-only, so every one may answer 403 to a member token. */

/**
 * WHATWG `URL`, which every runtime this package runs in has; declared here because the package compiles against
 * the language alone (neither the DOM's types nor Node's).
 */
declare const URL: new (input: string) => { protocol: string; hostname: string };

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

const ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;
const WRITE_ERRORS = [...ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'VALIDATION'] as const;
const serverOnly = { tags: ['Webhooks'], callers: ['key'], refusal: 'FORBIDDEN' } as const;

export const createWebhook = operation({
  ...serverOnly,
  operationId: 'createWebhook',
  method: 'POST',
  path: '/v1/webhooks',
  noStore: true,
  summary: 'Add a webhook endpoint',
  body: createWebhookBody,
  headers: idempotentHeaders,
  response: { 201: createdWebhookSchema, ...errorResponses(...WRITE_ERRORS, 'WEBHOOK_URL_REFUSED') },
});

export const listWebhooks = operation({
  ...serverOnly,
  operationId: 'listWebhooks',
  method: 'GET',
  path: '/v1/webhooks',
  summary: "The org's webhook endpoints, disabled ones included",
  response: { 200: listWebhooksResponse, ...errorResponses(...ERRORS) },
});

export const getWebhook = operation({
  ...serverOnly,
  operationId: 'getWebhook',
  method: 'GET',
  path: '/v1/webhooks/{id}',
  summary: 'One webhook endpoint',
  params: webhookParams,
  response: { 200: webhookEndpointSchema, ...errorResponses(...ERRORS, 'NOT_FOUND') },
});

export const deleteWebhook = operation({
  ...serverOnly,
  operationId: 'deleteWebhook',
  method: 'DELETE',
  path: '/v1/webhooks/{id}',
  summary: 'Disable a webhook endpoint (soft: it stays listed with `disabledAt`)',
  params: webhookParams,
  response: {
    200: deleteWebhookResponse,
    ...errorResponses(...ERRORS, 'NOT_FOUND'),
  },
});

export const updateWebhook = operation({
  ...serverOnly,
  operationId: 'updateWebhook',
  method: 'PATCH',
  path: '/v1/webhooks/{id}',
  summary: 'Change the URL, events or description; disable or enable',
  params: webhookParams,
  body: patchWebhookBody,
  response: {
    200: webhookEndpointSchema,
    ...errorResponses(...ERRORS, ...BODY_ERRORS, 'VALIDATION', 'NOT_FOUND', 'WEBHOOK_URL_REFUSED'),
  },
});

export const rotateWebhookSecret = operation({
  ...serverOnly,
  operationId: 'rotateWebhookSecret',
  method: 'POST',
  path: '/v1/webhooks/{id}/rotate-secret',
  noStore: true,
  summary: 'A new signing secret; the old one signs beside it for 24 hours',
  params: webhookParams,
  headers: idempotentHeaders,
  response: {
    200: rotateWebhookSecretResponse,
    ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND'),
  },
});

export const listWebhookDeliveries = operation({
  ...serverOnly,
  operationId: 'listWebhookDeliveries',
  method: 'GET',
  path: '/v1/webhooks/{id}/deliveries',
  summary: "An endpoint's deliveries, newest first",
  params: webhookParams,
  querystring: deliveriesQuery,
  response: {
    200: listWebhookDeliveriesResponse,
    ...errorResponses(...ERRORS, 'VALIDATION', 'INVALID_CURSOR', 'NOT_FOUND'),
  },
});

export const retryWebhookDelivery = operation({
  ...serverOnly,
  operationId: 'retryWebhookDelivery',
  method: 'POST',
  path: '/v1/webhooks/{id}/deliveries/{deliveryID}/retry',
  summary: 'Attempt a delivery again now (same `webhook-id`)',
  params: deliveryParams,
  headers: idempotentHeaders,
  response: { 200: webhookDeliverySchema, ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND') },
});

export const replayWebhooks = operation({
  ...serverOnly,
  operationId: 'replayWebhooks',
  method: 'POST',
  path: '/v1/webhooks/{id}/replay',
  summary: "Re-send every one of the endpoint's deliveries created since an instant",
  params: webhookParams,
  body: replayBody,
  headers: idempotentHeaders,
  response: {
    200: replayWebhooksResponse,
    ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND'),
  },
});

export const testWebhook = operation({
  ...serverOnly,
  operationId: 'testWebhook',
  method: 'POST',
  path: '/v1/webhooks/{id}/test',
  summary: 'Send a `webhook.test` event to the endpoint',
  params: webhookParams,
  headers: idempotentHeaders,
  response: { 202: webhookDeliverySchema, ...errorResponses(...WRITE_ERRORS, 'NOT_FOUND') },
});

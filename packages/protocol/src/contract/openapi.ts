import { WEBHOOK_TEST_EVENT } from '../webhook-events.js';
import type { Operation } from './operation.js';
import { WEBHOOK_BODIES } from './webhook-shapes.js';

/**
 * What the OpenAPI document says beyond the routes' schemas, derived from the same table: one security scheme per
 * credential kind (each operation lists the ones its `callers` let in), and a `webhooks` section with a named
 * component for the body of every event the server sends.
 */

export const SECURITY_SCHEMES = {
  memberToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A member token (from `POST /v1/auth/exchange`): acts for its own member only.',
  },
  agentToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'An agent access token (from `/v1/agent-auth/*`, valid 15 minutes). Where only admin agents may call an ' +
      'operation, its summary says so; a plain agent gets 403 `FORBIDDEN` there.',
  },
  orgApiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An Org-API-Key (`ck_live_…`, or any `<name>_live_` / `<name>_sandbox_` prefix it was made with): server-side ' +
      'only.',
  },
  streamTicket: {
    type: 'apiKey',
    in: 'query',
    name: 'ticket',
    description:
      'A single-use stream ticket (`POST /v1/stream-tickets`), in place of `Authorization`, for EventSource.',
  },
} as const;

export type SecurityScheme = keyof typeof SECURITY_SCHEMES;

const SCHEME_OF = { member: 'memberToken', agent: 'agentToken', admin: 'agentToken', key: 'orgApiKey' } as const;

/** An operation's `security`: any one of the schemes of the credential kinds it lets in (none when public). */
export function securityOf(o: Pick<Operation, 'callers' | 'ticket'>): Record<string, never[]>[] {
  if (o.callers === 'public') return [];
  const schemes = new Set<SecurityScheme>(o.callers.map((c) => SCHEME_OF[c]));
  if (o.ticket === true) schemes.add('streamTicket');
  return [...schemes].map((s) => ({ [s]: [] }));
}

const SUMMARIES: Record<keyof typeof WEBHOOK_BODIES, string> = {
  'conversation.message_created': 'A message was posted (by the member, the concierge or the system)',
  'conversation.created': 'A conversation was opened',
  'conversation.read': 'A read mark moved',
  'conversation.updated': "A conversation's team state changed (assigned, closed, reopened, awaiting a reply)",
  'member.deleted': 'A member was erased',
  [WEBHOOK_TEST_EVENT]: 'Sent by `POST /v1/webhooks/{id}/test` only (never subscribable)',
};

/** One entry of `webhooks`: an operation the server calls on the receiver. */
export interface WebhookOperation {
  summary: string;
  description: string;
  requestBody: { required: true; content: { 'application/json': { schema: { $ref: string } } } };
  responses: Record<string, { description: string }>;
}

/**
 * The document's `webhooks`: what the server POSTs to an endpoint, one entry per event type. Each delivery is
 * signed (`webhook-id`, `webhook-timestamp`, `webhook-signature`; docs/webhooks.md); any 2xx answer ends it.
 */
export function webhooksSection(): Record<string, { post: WebhookOperation }> {
  return Object.fromEntries(
    Object.entries(WEBHOOK_BODIES).map(([type, body]) => [
      type,
      {
        post: {
          summary: SUMMARIES[type as keyof typeof WEBHOOK_BODIES],
          description:
            "Signed with the endpoint's secret (`webhook-id`, `webhook-timestamp`, `webhook-signature`: see " +
            'docs/webhooks.md); `webhook-id` is the same on every attempt, so receivers dedupe on it.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${body.meta()!.id!}` } } },
          },
          responses: {
            '2XX': { description: 'Received. Any other answer, or none in time, is attempted again later.' },
          },
        },
      },
    ]),
  );
}

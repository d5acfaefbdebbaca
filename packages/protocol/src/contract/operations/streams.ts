import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, MEMBER_MODE_ERRORS, V1_ERRORS } from '../errors.js';
import { identifier, queryString, RESUME_PATTERN } from '../fields.js';
import { keyIgnoredHeaders, streamHeaders } from '../headers.js';
import { operation, type EventStreamResponse } from '../operation.js';
import { conversationStateSchema, noteEventSchema } from '../team.js';
import {
  conversationEventSchema,
  messageEventSchema,
  messageSchema,
  readEventSchema,
  streamTicketResponse,
  typingEventSchema,
  webhookDisabledEventSchema,
} from '../wire.js';
import { conversationParams, memberMode } from './conversations.js';

export const streamQuery = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  after: queryString(4096).optional().meta({
    pattern: RESUME_PATTERN,
    description: 'Resume after this event id (or a `latestCursor`); empty means live. `Last-Event-ID` wins over it.',
  }),
  ticket: queryString(512).optional().meta({
    pattern: '^tkt_[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
    description: 'A stream ticket (`POST /v1/stream-tickets`), in place of `Authorization`.',
  }),
});

/**
 * The named events of `GET /v1/stream` that clients handle, each with the schema of its `data:`. The SDKs' event
 * types are inferred from this map; `conversation.updated` and `note` come on team streams only (agents, the
 * Org-API-Key), never on a member's.
 */
export const STREAM_EVENTS = {
  message: messageEventSchema,
  conversation: conversationEventSchema,
  read: readEventSchema,
  typing: typingEventSchema,
  'conversation.updated': conversationStateSchema,
  note: noteEventSchema,
} as const;

const STREAM_ERRORS = errorResponses(
  ...V1_ERRORS,
  ...MEMBER_MODE_ERRORS,
  'VALIDATION',
  'INVALID_CURSOR',
  'NOT_FOUND',
  'TICKET_INVALID',
  'TOO_MANY_STREAMS',
);

/**
 * An SSE answer, described one event at a time: OpenAPI has no vocabulary for an event stream, so the schema is
 * that of one event's fields (`event`, `id`, `data` decoded as JSON). Comments (`: heartbeat`) and `retry:` come
 * too; see docs/sse.md for the framing.
 */
const eventStream = (description: string, event: z.ZodType): EventStreamResponse => ({
  description,
  content: { 'text/event-stream': { schema: event } },
});

const named = <N extends string>(name: N, data: z.ZodType, what: string) =>
  z
    .object({
      event: z.literal(name),
      id: z.string().optional().meta({ description: 'Resume point of the whole stream (not on `typing`).' }),
      data,
    })
    .meta({ description: what });

export const streamConversation = operation({
  ...memberMode,
  ticket: true,
  operationId: 'streamConversation',
  method: 'GET',
  path: '/v1/conversations/{id}/stream',
  tags: ['Streams'],
  summary: 'Server-sent events: each new message of one conversation',
  params: conversationParams,
  querystring: streamQuery,
  headers: streamHeaders,
  response: {
    200: eventStream(
      'One unnamed event per message; `id:` is a listMessages cursor, `data:` the Message exactly.',
      z.object({ id: z.string(), data: messageSchema }),
    ),
    ...STREAM_ERRORS,
  },
});

export const streamEvents = operation({
  ...memberMode,
  ticket: true,
  operationId: 'streamEvents',
  method: 'GET',
  path: '/v1/stream',
  tags: ['Streams'],
  summary: "Server-sent events: a member's events, or with an Org-API-Key or agent token the whole org's",
  querystring: streamQuery,
  headers: streamHeaders,
  response: {
    200: eventStream(
      'Named events: `message`, `conversation`, `read`, `typing`; on the org-wide stream of an agent or the ' +
        "Org-API-Key also `conversation.updated` and `note` (never on a member's stream), and `webhook.disabled`.",
      z.discriminatedUnion('event', [
        named('message', STREAM_EVENTS.message, 'A message was posted.'),
        named('conversation', STREAM_EVENTS.conversation, 'A conversation was opened or changed.'),
        named('read', STREAM_EVENTS.read, 'A read mark moved.'),
        named('typing', STREAM_EVENTS.typing, 'The other side is typing (never replayed).'),
        named(
          'conversation.updated',
          STREAM_EVENTS['conversation.updated'],
          'Team only: assigned, closed, reopened, awaiting.',
        ),
        named('note', STREAM_EVENTS.note, 'Team only: an internal note.'),
        named(
          'webhook.disabled',
          webhookDisabledEventSchema,
          'A webhook endpoint was disabled by its deliveries (Org-API-Key streams of the whole org; never replayed).',
        ),
      ]),
    ),
    ...STREAM_ERRORS,
  },
});

export const createStreamTicket = operation({
  ...memberMode,
  operationId: 'createStreamTicket',
  method: 'POST',
  path: '/v1/stream-tickets',
  noStore: true,
  tags: ['Streams'],
  summary: 'A single-use ticket for EventSource (which cannot send Authorization)',
  headers: keyIgnoredHeaders,
  response: { 201: streamTicketResponse, ...errorResponses(...V1_ERRORS, ...BODY_ERRORS) },
});

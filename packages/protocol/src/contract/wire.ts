import { z } from 'zod';
import type { JsonValue, MessageType } from '../json.js';

/**
 * The member side's wire shapes, as zod schemas: every answer of the OpenAPI document, and (through `z.output`, in
 * ../types.ts) every TypeScript type the server, the SDK and the console use. Field names and nullability follow
 * the hosted API's contract to the byte: every key is always present, `| null` fields are sent as `null`, never
 * omitted; "ours" marks an addition. The server does not run them on the way out (see its validation.ts); the
 * contract fuzz suite checks real answers against them. An `id` in `.meta()` makes the shape a named component.
 */

const instant = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC with milliseconds.' });

/** `member`, `concierge` or `system`; typed so an app keeps the known names while unknown ones may come. */
const messageType: z.ZodType<MessageType | (string & {})> = z
  .string()
  .meta({ description: '`member`, `concierge` or `system`; unknown values may come.' });

export const messageSchema = z
  .object({
    id: z.string(),
    type: messageType,
    authorID: z.string(),
    body: z.string().nullable(),
    createdAt: instant,
  })
  .meta({ id: 'Message' });

export const conversationSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    title: z.string().nullable(),
    lastMessageAt: instant.nullable(),
    unreadCount: z.number().int().min(0),
    externalUserID: z.string().meta({ description: 'Ours: the member the conversation belongs to.' }),
  })
  .meta({ id: 'Conversation' });

/** Any JSON value, as a named (recursive) component of the document. */
export const jsonValueSchema: z.ZodType<JsonValue> = z
  .lazy(() =>
    z.union([
      z.string(),
      z.number(),
      z.boolean(),
      z.null(),
      z.array(jsonValueSchema),
      z.record(z.string(), jsonValueSchema),
    ]),
  )
  .meta({ id: 'JsonValue' });

/** A JSON object: what a member's `attributes` are. */
export const jsonObjectSchema = z.record(z.string(), jsonValueSchema);

const emptyObject = (description: string) => z.record(z.string(), z.never()).meta({ maxProperties: 0, description });

export const memberSchema = z
  .object({
    externalUserID: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable().meta({ description: 'Ours.' }),
    tier: z.string().meta({ description: "Never null: the org's default tier when the member has none." }),
    attributes: jsonObjectSchema
      .nullable()
      .meta({ description: 'The JSON object last stored with PUT, equal to what was sent; null until one is.' }),
    redemptionCounts: emptyObject('Always `{}`: Concierge has no redemptions (a loyalty feature of the hosted API).'),
    wallet: emptyObject('Always `{}`: Concierge has no loyalty wallet (a feature of the hosted API).'),
    archivedAt: instant.nullable().meta({ description: 'Ours: when DELETE archived the member; null when active.' }),
    createdAt: instant,
    updatedAt: instant,
  })
  .meta({ id: 'Member' });

export const listMembersResponse = z.object({ members: z.array(memberSchema), nextCursor: z.string().nullable() });

export const archiveMemberResponse = z.object({
  externalUserID: z.string(),
  archived: z.boolean().meta({ description: 'True when the member exists and is archived now.' }),
  balanceRetained: z.boolean().meta({ description: 'Always false: Concierge keeps no balance.' }),
  ok: z.literal(true),
  deleted: z.literal(false).meta({ description: 'Ours: DELETE never erases; `POST …/erase` does.' }),
});

export const eraseMemberResponse = z.object({
  ok: z.literal(true),
  erased: z.boolean().meta({ description: 'False when there was no such member.' }),
});

export const listConversationsResponse = z.object({ conversations: z.array(conversationSchema) });

export const listMessagesResponse = z
  .object({
    messages: z.array(messageSchema),
    nextCursor: z.string().nullable(),
    latestCursor: z.string(),
  })
  .meta({ id: 'MessagePage' });

export const sendMessageResponse = z.object({ ok: z.literal(true), message: messageSchema });

export const readResponse = z.object({ ok: z.literal(true), conversation: conversationSchema });

export const exchangeResponse = z.object({ accessToken: z.string(), expiresAt: instant });

export const okResponse = z.object({ ok: z.literal(true) });

export const revokeTokensResponse = z.object({ ok: z.literal(true), revokedAt: instant });

export const streamTicketResponse = z.object({
  ticket: z.string().meta({ description: 'Single use; pass as `?ticket=` to a stream route.' }),
  expiresAt: instant,
});

export const readyResponse = z.object({ ok: z.literal(true), store: z.enum(['sqlite', 'postgres']) });

// Events of the streams (the `data:` of each SSE event).

export const messageEventSchema = z
  .object({ conversationID: z.string(), message: messageSchema })
  .meta({ id: 'MessageEvent' });

export const conversationEventSchema = z
  .object({
    conversation: conversationSchema,
    externalUserID: z
      .string()
      .optional()
      .meta({ description: 'On server-credential streams: which member the conversation belongs to.' }),
  })
  .meta({ id: 'ConversationEvent' });

export const readEventSchema = z
  .object({
    conversationID: z.string(),
    reader: z.enum(['member', 'concierge']),
    readerID: z.string(),
    messageID: z.string(),
    readAt: instant,
  })
  .meta({ id: 'ReadEvent' });

export const typingEventSchema = z.object({
  conversationID: z.string(),
  typist: z.enum(['member', 'concierge']),
  typistID: z.string(),
  at: instant,
});

export const webhookDisabledEventSchema = z.object({
  endpointID: z.string(),
  url: z.string(),
  reason: z.string().meta({ description: '`gone` (a 410) or `failing` (5 days of failures).' }),
  disabledAt: instant,
});

import type {
  ArchiveMemberResponse,
  Conversation,
  ConversationEvent,
  JsonValue,
  ExchangeResponse,
  ListMembersResponse,
  ListMessagesResponse,
  Member,
  Message,
  MessageEvent,
  ReadEvent,
  SendMessageResponse,
  TypingEvent,
  WebhookDisabledEvent,
} from '@concierge/protocol';
import { z } from 'zod';

/**
 * The wire shapes the server answers with, as zod schemas: they declare every response in the OpenAPI document.
 * They are not run on the way out (see serializerCompiler in validation.ts); the `Same<…>` checks below make the
 * compiler prove they say what `@concierge/protocol`'s types say, and the contract fuzz suite checks real answers
 * against them. An `id` in `.meta()` makes the shape a named component of the document.
 */

const instant = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC with milliseconds.' });

export const messageSchema = z
  .object({
    id: z.string(),
    type: z.string().meta({ description: '`member`, `concierge` or `system`; unknown values may come.' }),
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

export const messageEventSchema = z.object({ conversationID: z.string(), message: messageSchema });

export const conversationEventSchema = z.object({
  conversation: conversationSchema,
  externalUserID: z.string().optional(),
});

export const readEventSchema = z.object({
  conversationID: z.string(),
  reader: z.enum(['member', 'concierge']),
  readerID: z.string(),
  messageID: z.string(),
  readAt: instant,
});

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

/** Mutual assignability: a schema that drifts from the protocol type fails to compile here. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const same = <T extends true>(): T | undefined => undefined;
same<Same<z.output<typeof messageSchema>, Omit<Message, 'type'> & { type: string }>>();
same<Same<z.output<typeof conversationSchema>, Conversation & { externalUserID: string }>>();
same<Same<z.output<typeof memberSchema>, Member>>();
same<Same<z.output<typeof listMembersResponse>, ListMembersResponse>>();
same<Same<z.output<typeof archiveMemberResponse>, ArchiveMemberResponse>>();
same<Same<z.output<typeof listMessagesResponse>['nextCursor'], ListMessagesResponse['nextCursor']>>();
same<Same<z.output<typeof sendMessageResponse>['ok'], SendMessageResponse['ok']>>();
same<Same<z.output<typeof exchangeResponse>, ExchangeResponse>>();
same<Same<z.output<typeof messageEventSchema>['conversationID'], MessageEvent['conversationID']>>();
same<Same<z.output<typeof conversationEventSchema>['externalUserID'], ConversationEvent['externalUserID']>>();
same<Same<z.output<typeof readEventSchema>, ReadEvent>>();
same<Same<z.output<typeof typingEventSchema>, TypingEvent>>();
same<Same<z.output<typeof webhookDisabledEventSchema>, WebhookDisabledEvent>>();

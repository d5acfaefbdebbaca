import { LIMITS, type ConversationState, type InboxCounts, type InboxItem, type Note } from '@concierge/protocol';
import { z } from 'zod';
import { conversationParams } from './conversations.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from './errors.js';
import { CURSOR_PATTERN, identifier, pageLimit, queryString, text } from './fields.js';
import { idempotentHeaders, keyIgnoredHeaders } from './headers.js';
import { conversationSchema } from './wire.js';

const instant = z.string().meta({ format: 'date-time' });

const actorSchema = z.object({ kind: z.enum(['agent', 'member', 'key']), id: z.string() });

export const conversationStateSchema = z
  .object({
    conversationID: z.string(),
    status: z.enum(['open', 'closed']),
    assigneeID: z.string().nullable(),
    awaitingReply: z.boolean(),
    updatedAt: instant,
    updatedBy: actorSchema,
  })
  .meta({ id: 'ConversationState' });

export const inboxItemSchema = z
  .object({
    conversation: conversationSchema,
    status: z.enum(['open', 'closed']),
    assigneeID: z.string().nullable(),
    awaitingReply: z.boolean(),
    lastActivityAt: instant,
    member: z.object({
      externalUserID: z.string(),
      displayName: z.string().nullable(),
      email: z.string().nullable(),
      tier: z.string().nullable(),
    }),
    lastMessage: z
      .object({
        id: z.string(),
        authorID: z.string(),
        preview: z.string().meta({ description: 'The first 140 characters of the body.' }),
        createdAt: instant,
        fromMember: z.boolean(),
      })
      .nullable(),
    search: z
      .object({
        snippet: z.string().meta({ description: 'The best-matching text, each match in `[` `]`.' }),
        rank: z.number().meta({ description: 'Relevance: higher is better; comparable within one search only.' }),
      })
      .optional(),
  })
  .meta({ id: 'InboxItem' });

export const noteSchema = z
  .object({ id: z.string(), conversationID: z.string(), authorID: z.string(), body: z.string(), createdAt: instant })
  .meta({ id: 'Note' });

const countsSchema = z.object({
  unassigned: z.number().int().min(0),
  mine: z.number().int().min(0),
  open: z.number().int().min(0),
  awaiting: z.number().int().min(0),
  closed: z.number().int().min(0),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const same = <T extends true>(): T | undefined => undefined;
same<Same<z.output<typeof conversationStateSchema>, ConversationState>>();
same<Same<z.output<typeof inboxItemSchema>, InboxItem>>();
same<Same<z.output<typeof noteSchema>, Note>>();
same<Same<z.output<typeof countsSchema>, InboxCounts>>();

const limitField = pageLimit(LIMITS.pageMax, LIMITS.pageDefault);
const cursorField = queryString(4096)
  .optional()
  .meta({ pattern: CURSOR_PATTERN, description: '`nextCursor` of the previous page.' });

/** The team routes: a member token is refused before anything else (403, or 404 where existence must not leak). */
const TEAM_ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;

export const agentHeader = {
  'concierge-agent-id': z
    .string()
    .optional()
    .meta({
      description:
        'With the Org-API-Key: the agent acting (an enabled agent of the org), for `assignee=me`, "mine", ' +
        "assigning to `me` and a note's author. Agents never need it.",
    }),
};

export const inboxSchema = {
  operationId: 'listInbox',
  tags: ['Inbox'],
  summary: "The org's conversations, newest activity first (or ranked, with `q`)",
  querystring: z.object({
    status: z.enum(['open', 'closed'], { error: "must be 'open' or 'closed'" }).optional(),
    assignee: identifier(100)
      .optional()
      .meta({ description: '`me` (the agent, or the one `Concierge-Agent-ID` names), `none`, or an agent id.' }),
    awaiting: z
      .enum(['true'], { error: "must be 'true'" })
      .optional()
      .meta({ description: 'Only those awaiting a reply.' }),
    q: queryString(200)
      .refine((s) => s.trim() !== '', 'must not be empty or only whitespace')
      .optional()
      .meta({ description: "Words in message text or the member's name, email or id (each a prefix; all required)." }),
    limit: limitField,
    cursor: cursorField,
  }),
  headers: z.looseObject(agentHeader),
  response: {
    200: z.object({ data: z.array(inboxItemSchema), nextCursor: z.string().nullable() }).meta({ id: 'InboxPage' }),
    ...errorResponses(...TEAM_ERRORS, 'VALIDATION', 'INVALID_CURSOR'),
  },
};

export const inboxCountsSchema = {
  operationId: 'inboxCounts',
  tags: ['Inbox'],
  summary: 'How many conversations each inbox view holds',
  description: '`unassigned`, `mine` and `awaiting` count open conversations only.',
  headers: z.looseObject(agentHeader),
  response: { 200: countsSchema, ...errorResponses(...TEAM_ERRORS, 'VALIDATION') },
};

const stateRoute = (operationId: string, summary: string, body?: z.ZodType) => ({
  operationId,
  tags: ['Inbox'],
  summary,
  description: 'Idempotent: repeating it answers the same state and makes no new event.',
  params: conversationParams,
  ...(body !== undefined && { body }),
  headers: z.looseObject({ ...keyIgnoredHeaders.shape, ...agentHeader }),
  response: {
    200: conversationStateSchema,
    ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'VALIDATION', 'NOT_FOUND'),
  },
});

export const assignBody = z.object({
  assigneeID: identifier(100).meta({ description: 'An enabled agent of the org, or `me`.' }),
});

export const assignSchema = {
  ...stateRoute('assignConversation', 'Assign a conversation to an agent', assignBody),
  body: assignBody,
};
export const unassignSchema = stateRoute('unassignConversation', 'Unassign a conversation');
export const closeSchema = stateRoute('closeConversation', 'Close a conversation');
export const reopenSchema = stateRoute('reopenConversation', 'Reopen a conversation');

export const addNoteSchema = (maxChars: number) => ({
  operationId: 'addNote',
  tags: ['Inbox'],
  summary: 'Add an internal note (never shown to the member)',
  params: conversationParams,
  body: z.object({ body: text(maxChars) }),
  headers: z.looseObject({ ...idempotentHeaders.shape, ...agentHeader }),
  response: {
    201: noteSchema,
    ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
  },
});

export const listNotesSchema = {
  operationId: 'listNotes',
  tags: ['Inbox'],
  summary: "A conversation's internal notes, newest first",
  params: conversationParams,
  querystring: z.object({ limit: limitField, cursor: cursorField }),
  response: {
    200: z.object({ notes: z.array(noteSchema), nextCursor: z.string().nullable() }),
    ...errorResponses(...TEAM_ERRORS, 'VALIDATION', 'INVALID_CURSOR', 'NOT_FOUND'),
  },
};

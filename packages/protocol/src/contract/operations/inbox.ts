import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from '../errors.js';
import { CURSOR_PATTERN, identifier, pageLimit, queryString, text } from '../fields.js';
import { idempotentHeaders, keyIgnoredHeaders } from '../headers.js';
import { operation } from '../operation.js';
import {
  conversationStateSchema,
  inboxCountsSchema,
  inboxItemSchema,
  inboxPageSchema,
  notesPageSchema,
  noteSchema,
} from '../team.js';
import { conversationParams } from './conversations.js';

const limitField = pageLimit(LIMITS.pageMax, LIMITS.pageDefault);
const cursorField = queryString(4096)
  .optional()
  .meta({ pattern: CURSOR_PATTERN, description: '`nextCursor` of the previous page.' });

/** The team routes: a member token is refused before anything else (403, or 404 where existence must not leak). */
const TEAM_ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;
const team = { tags: ['Inbox'], callers: ['agent', 'key'], refusal: 'FORBIDDEN' } as const;
/** Notes answer a member token 404, like any conversation it may not see: their existence never leaks. */
const notes = { ...team, refusal: 'NOT_FOUND' } as const;

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

export const listInbox = operation({
  ...team,
  operationId: 'listInbox',
  method: 'GET',
  path: '/v1/inbox',
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
    200: inboxPageSchema,
    ...errorResponses(...TEAM_ERRORS, 'VALIDATION', 'INVALID_CURSOR'),
  },
});

export const inboxCounts = operation({
  ...team,
  operationId: 'inboxCounts',
  method: 'GET',
  path: '/v1/inbox/counts',
  summary: 'How many conversations each inbox view holds',
  description: '`unassigned`, `mine` and `awaiting` count open conversations only.',
  headers: z.looseObject(agentHeader),
  response: { 200: inboxCountsSchema, ...errorResponses(...TEAM_ERRORS, 'VALIDATION') },
});

export const getInboxItem = operation({
  ...notes,
  operationId: 'getInboxItem',
  method: 'GET',
  path: '/v1/inbox/{id}',
  summary: 'One conversation as the inbox shows it, by its id',
  description:
    'What a link to a conversation needs: its member, team state and last message, without knowing the member. ' +
    'A conversation of another org, or none, is 404.',
  params: conversationParams,
  headers: z.looseObject(agentHeader),
  response: { 200: inboxItemSchema, ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
});

const stateChange = {
  ...team,
  description: 'Idempotent: repeating it answers the same state and makes no new event.',
  params: conversationParams,
  headers: z.looseObject({ ...keyIgnoredHeaders.shape, ...agentHeader }),
  response: {
    200: conversationStateSchema,
    ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'VALIDATION', 'NOT_FOUND'),
  },
} as const;

export const assignBody = z.object({
  assigneeID: identifier(100).meta({ description: 'An enabled agent of the org, or `me`.' }),
});

export const assignConversation = operation({
  ...stateChange,
  operationId: 'assignConversation',
  method: 'POST',
  path: '/v1/conversations/{id}/assign',
  summary: 'Assign a conversation to an agent',
  body: assignBody,
});

export const unassignConversation = operation({
  ...stateChange,
  operationId: 'unassignConversation',
  method: 'POST',
  path: '/v1/conversations/{id}/unassign',
  summary: 'Unassign a conversation',
});

export const closeConversation = operation({
  ...stateChange,
  operationId: 'closeConversation',
  method: 'POST',
  path: '/v1/conversations/{id}/close',
  summary: 'Close a conversation',
});

export const reopenConversation = operation({
  ...stateChange,
  operationId: 'reopenConversation',
  method: 'POST',
  path: '/v1/conversations/{id}/reopen',
  summary: 'Reopen a conversation',
});

/** A note's length limit is the server's `--max-message-chars`, so this entry is built per server. */
export const addNote = (maxChars: number) =>
  operation({
    ...notes,
    operationId: 'addNote',
    method: 'POST',
    path: '/v1/conversations/{id}/notes',
    summary: 'Add an internal note (never shown to the member)',
    params: conversationParams,
    body: z.object({ body: text(maxChars) }),
    headers: z.looseObject({ ...idempotentHeaders.shape, ...agentHeader }),
    response: {
      201: noteSchema,
      ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
    },
  });

export const listNotes = operation({
  ...notes,
  operationId: 'listNotes',
  method: 'GET',
  path: '/v1/conversations/{id}/notes',
  summary: "A conversation's internal notes, newest first",
  params: conversationParams,
  querystring: z.object({ limit: limitField, cursor: cursorField }),
  response: {
    200: notesPageSchema,
    ...errorResponses(...TEAM_ERRORS, 'VALIDATION', 'INVALID_CURSOR', 'NOT_FOUND'),
  },
});

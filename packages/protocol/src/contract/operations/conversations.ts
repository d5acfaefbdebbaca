import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, MEMBER_MODE_ERRORS, V1_ERRORS } from '../errors.js';
import { identifier, text } from '../fields.js';
import { idempotentHeaders } from '../headers.js';
import { operation } from '../operation.js';
import { conversationSchema, listConversationsResponse } from '../wire.js';

/** `?externalUserID=`: which member a server credential acts for (a member token may name only itself). */
export const memberQuery = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars)
    .optional()
    .meta({ description: 'Required with an Org-API-Key on member-mode routes; a member token may name only itself.' }),
});

/**
 * A conversation id in the path. Not constrained: an id this server never issued is a 404 like any other
 * conversation the caller cannot see, so its existence never leaks through a different answer.
 */
export const conversationParams = z.object({ id: z.string() });

export const createConversationBody = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  title: text(LIMITS.titleMaxChars).nullable().optional(),
  type: identifier(LIMITS.typeMaxChars).optional(),
});

/**
 * Member-mode routes: a member token acts for itself; the team (an agent, the Org-API-Key) names the member with
 * `externalUserID`, checked by the route since it needs the member's record.
 */
export const memberMode = {
  callers: ['member', 'agent', 'key'],
  refusal: 'FORBIDDEN',
} as const;

export const listConversations = operation({
  ...memberMode,
  operationId: 'listConversations',
  method: 'GET',
  path: '/v1/conversations',
  tags: ['Conversations'],
  summary: "The member's conversations, newest activity first",
  querystring: memberQuery,
  response: { 200: listConversationsResponse, ...errorResponses(...V1_ERRORS, ...MEMBER_MODE_ERRORS, 'VALIDATION') },
});

export const openConversation = operation({
  ...memberMode,
  operationId: 'openConversation',
  method: 'POST',
  path: '/v1/conversations',
  tags: ['Conversations'],
  summary: 'Open a conversation',
  description:
    'A member opens their own; an Org-API-Key opens one for `externalUserID` (body or query), creating the ' +
    'member record if needed.',
  querystring: memberQuery,
  body: createConversationBody,
  headers: idempotentHeaders,
  response: {
    201: conversationSchema,
    ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, ...MEMBER_MODE_ERRORS, ...IDEMPOTENCY_ERRORS),
  },
});

export const getConversation = operation({
  ...memberMode,
  operationId: 'getConversation',
  method: 'GET',
  path: '/v1/conversations/{id}',
  tags: ['Conversations'],
  summary: 'One conversation',
  params: conversationParams,
  querystring: memberQuery,
  response: {
    200: conversationSchema,
    ...errorResponses(...V1_ERRORS, ...MEMBER_MODE_ERRORS, 'VALIDATION', 'NOT_FOUND'),
  },
});

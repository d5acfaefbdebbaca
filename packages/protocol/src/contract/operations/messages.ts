import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, MEMBER_MODE_ERRORS, V1_ERRORS } from '../errors.js';
import { CURSOR_PATTERN, identifier, pageLimit, queryString, text } from '../fields.js';
import { idempotentHeaders, keyIgnoredHeaders } from '../headers.js';
import { operation } from '../operation.js';
import { listMessagesResponse, okResponse, readResponse, sendMessageResponse } from '../wire.js';
import { conversationParams, memberMode, memberQuery } from './conversations.js';

const messages = { ...memberMode, tags: ['Messages'] } as const;

export const listMessagesQuery = z.object({
  externalUserID: memberQuery.shape.externalUserID,
  cursor: queryString(4096).optional().meta({
    pattern: CURSOR_PATTERN,
    description: '`nextCursor` of the previous page: the page of what is strictly older.',
  }),
  limit: pageLimit(LIMITS.pageMax, LIMITS.pageDefault),
});

/** The message length limit is the server's `--max-message-chars`, so this schema is built per server. */
export const sendBody = (maxChars: number) =>
  z.object({
    message: text(maxChars),
    authorID: identifier(LIMITS.externalUserIDMaxChars)
      .optional()
      .meta({ description: 'Only when the concierge posts (Org-API-Key, no `externalUserID`): the agent.' }),
  });

export const readBody = z.object({ messageID: identifier(100) });

export const listMessages = operation({
  ...messages,
  operationId: 'listMessages',
  method: 'GET',
  path: '/v1/conversations/{id}/messages',
  summary: 'A page of messages, newest first',
  params: conversationParams,
  querystring: listMessagesQuery,
  response: {
    200: listMessagesResponse,
    ...errorResponses(...V1_ERRORS, ...MEMBER_MODE_ERRORS, 'VALIDATION', 'INVALID_CURSOR', 'NOT_FOUND'),
  },
});

export const sendMessage = (maxChars: number) =>
  operation({
    ...messages,
    operationId: 'sendMessage',
    method: 'POST',
    path: '/v1/conversations/{id}/messages',
    summary: 'Post a message',
    description:
      'A member token posts as the member; an Org-API-Key posts for the member named by `externalUserID`, or as ' +
      'the concierge without it.',
    params: conversationParams,
    querystring: memberQuery,
    body: sendBody(maxChars),
    headers: idempotentHeaders,
    response: {
      200: sendMessageResponse,
      ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, ...MEMBER_MODE_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
    },
  });

export const markRead = operation({
  ...messages,
  operationId: 'markRead',
  method: 'POST',
  path: '/v1/conversations/{id}/read',
  summary: "Move the caller's read mark forward",
  params: conversationParams,
  querystring: memberQuery,
  body: readBody,
  headers: idempotentHeaders,
  response: {
    200: readResponse,
    ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, ...MEMBER_MODE_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
  },
});

export const sendTyping = operation({
  ...messages,
  operationId: 'sendTyping',
  method: 'POST',
  path: '/v1/conversations/{id}/typing',
  summary: 'Typing indicator (ephemeral, not stored)',
  params: conversationParams,
  querystring: memberQuery,
  headers: keyIgnoredHeaders,
  response: {
    200: okResponse,
    ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, ...MEMBER_MODE_ERRORS, 'VALIDATION', 'NOT_FOUND'),
  },
});

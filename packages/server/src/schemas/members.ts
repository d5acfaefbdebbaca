import { LIMITS } from '@concierge/protocol';
import { z } from 'zod';
import { profileField } from './auth.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from './errors.js';
import { identifier } from './fields.js';
import { idempotentHeaders, keyIgnoredHeaders } from './headers.js';
import { deleteMemberResponse, memberSchema, revokeTokensResponse } from './wire.js';

export const memberParams = z.object({ externalUserID: identifier(LIMITS.externalUserIDMaxChars) });

export const memberBody = z.object({ displayName: profileField, email: profileField, tier: profileField });

/** Every member route: Org-API-Key only, and the path names a member. */
const MEMBER_ERRORS = [...V1_ERRORS, 'FORBIDDEN', 'VALIDATION'] as const;

export const getMemberSchema = {
  operationId: 'getMember',
  tags: ['Members'],
  summary: 'One member',
  params: memberParams,
  response: { 200: memberSchema, ...errorResponses(...MEMBER_ERRORS, 'NOT_FOUND') },
};

export const putMemberSchema = {
  operationId: 'putMember',
  tags: ['Members'],
  summary: 'Create the member or replace their profile (fields left out become null)',
  params: memberParams,
  body: memberBody,
  headers: keyIgnoredHeaders,
  response: {
    200: memberSchema,
    201: memberSchema,
    ...errorResponses(...MEMBER_ERRORS, ...BODY_ERRORS),
  },
};

export const deleteMemberSchema = {
  operationId: 'deleteMember',
  tags: ['Members'],
  summary: 'Remove the member, their conversations and messages',
  params: memberParams,
  response: { 200: deleteMemberResponse, ...errorResponses(...MEMBER_ERRORS) },
};

export const revokeTokensSchema = {
  operationId: 'revokeMemberTokens',
  tags: ['Members'],
  summary: 'End every member token issued to the member so far',
  params: memberParams,
  headers: idempotentHeaders,
  response: {
    200: revokeTokensResponse,
    ...errorResponses(...MEMBER_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
  },
};

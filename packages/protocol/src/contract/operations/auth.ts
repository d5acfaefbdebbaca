import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from '../errors.js';
import { identifier, text } from '../fields.js';
import { idempotentHeaders } from '../headers.js';
import { operation } from '../operation.js';
import { exchangeResponse } from '../wire.js';

export const profileField = text(LIMITS.profileFieldMaxChars).nullable().optional();

export const exchangeBody = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars),
  displayName: profileField,
  email: profileField,
  tier: profileField,
});

export const exchangeToken = operation({
  operationId: 'exchangeToken',
  method: 'POST',
  path: '/v1/auth/exchange',
  noStore: true,
  callers: ['key'],
  refusal: 'FORBIDDEN',
  tags: ['Auth'],
  summary: 'Trade the Org-API-Key for a member token',
  description:
    'Creates the member if new and merges the given profile fields. Org-API-Key only. An archived member gets ' +
    '409 MEMBER_ARCHIVED until a PUT restores them.',
  body: exchangeBody,
  headers: idempotentHeaders,
  response: {
    200: exchangeResponse,
    ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'FORBIDDEN', 'MEMBER_ARCHIVED'),
  },
});

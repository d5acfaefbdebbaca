import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, IDEMPOTENCY_ERRORS, V1_ERRORS } from '../errors.js';
import { CURSOR_PATTERN, identifier, pageLimit, queryString } from '../fields.js';
import { idempotentHeaders, keyIgnoredHeaders } from '../headers.js';
import { operation } from '../operation.js';
import {
  jsonValueSchema,
  archiveMemberResponse,
  eraseMemberResponse,
  listMembersResponse,
  memberSchema,
  revokeTokensResponse,
} from '../wire.js';
import { profileField } from './auth.js';

export const memberParams = z.object({ externalUserID: identifier(LIMITS.externalUserIDMaxChars) });

const ATTRIBUTES_RULE =
  `a JSON object of at most ${LIMITS.attributesMaxBytes} bytes as JSON (UTF-8), nesting objects and arrays at ` +
  `most ${LIMITS.attributesMaxDepth} levels deep (the object itself is the first), with no \`__proto__\` key`;

/** How deep a JSON value nests (a scalar 0, an object or array 1 + its deepest member); stops past `limit`. */
function depthOf(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit === 0) return 1;
  let deepest = 0;
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v, limit - 1));
  return 1 + deepest;
}

/** The length of `s` in UTF-8, counted without an encoder (this module runs in any JavaScript runtime). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Whether `__proto__` is a key anywhere: JSON.parse keeps it as data, but any object rebuilt from it loses it. */
function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

/**
 * A member's `attributes`: the org's own JSON object about the member, stored as given and returned equal. Bounded
 * (size, depth) so a member record stays small for every read that carries it; beyond the bounds, 422 VALIDATION
 * (the whole body has its own 413 limit). The bounds are checked on the value as parsed, before the object is
 * rebuilt, so a key the rebuilding would drop is refused rather than silently lost.
 */
export const attributesField = z
  .preprocess(
    (value, ctx) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      const problem =
        depthOf(value, LIMITS.attributesMaxDepth) > LIMITS.attributesMaxDepth
          ? `must nest at most ${LIMITS.attributesMaxDepth} levels deep`
          : utf8Length(JSON.stringify(value)) > LIMITS.attributesMaxBytes
            ? `must be at most ${LIMITS.attributesMaxBytes} bytes as JSON`
            : hasProtoKey(value)
              ? 'must not have a `__proto__` key'
              : null;
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      return value;
    },
    z.record(z.string(), jsonValueSchema, { error: 'must be a JSON object or null' }),
  )
  .nullable()
  .optional()
  .meta({ description: `Replaces the stored attributes whole; null clears them. ${ATTRIBUTES_RULE}.` });

export const memberBody = z.object({
  displayName: profileField,
  email: profileField,
  tier: profileField,
  attributes: attributesField,
});

export const listMembersQuery = z.object({
  cursor: queryString(512)
    .optional()
    .meta({ pattern: CURSOR_PATTERN, description: '`nextCursor` of the previous page.' }),
  limit: pageLimit(LIMITS.membersPageMax, LIMITS.membersPageDefault),
});

export const archiveMemberQuery = z.object({
  retainBalance: z.enum(['true', 'false'], { error: 'must be `true` or `false`' }).optional().meta({
    description:
      "The hosted API's offboarding option, accepted for its SDKs: Concierge keeps no balance, so it changes nothing.",
  }),
});

/** Every member route: Org-API-Key only, and the path names a member. */
const MEMBER_ERRORS = [...V1_ERRORS, 'FORBIDDEN', 'VALIDATION'] as const;
const serverOnly = { tags: ['Members'], callers: ['key'], refusal: 'FORBIDDEN' } as const;

export const listMembers = operation({
  ...serverOnly,
  operationId: 'listMembers',
  method: 'GET',
  path: '/v1/members',
  summary: "The org's members, newest first (archived members left out)",
  querystring: listMembersQuery,
  response: {
    200: listMembersResponse,
    ...errorResponses(...V1_ERRORS, 'FORBIDDEN', 'VALIDATION', 'INVALID_CURSOR'),
  },
});

export const getMember = operation({
  ...serverOnly,
  operationId: 'getMember',
  method: 'GET',
  path: '/v1/members/{externalUserID}',
  summary: 'One member (archived ones too, with `archivedAt`)',
  params: memberParams,
  response: { 200: memberSchema, ...errorResponses(...MEMBER_ERRORS, 'NOT_FOUND') },
});

export const putMember = operation({
  ...serverOnly,
  operationId: 'putMember',
  method: 'PUT',
  path: '/v1/members/{externalUserID}',
  summary: "Upsert a member's tier and profile (fields left out keep their values; restores an archived member)",
  params: memberParams,
  body: memberBody,
  headers: keyIgnoredHeaders,
  response: {
    200: memberSchema,
    201: memberSchema,
    ...errorResponses(...MEMBER_ERRORS, ...BODY_ERRORS),
  },
});

export const archiveMember = operation({
  ...serverOnly,
  operationId: 'archiveMember',
  method: 'DELETE',
  path: '/v1/members/{externalUserID}',
  summary: 'Archive (offboard) the member: tokens end, history stays for the team; a PUT restores them',
  params: memberParams,
  querystring: archiveMemberQuery,
  response: { 200: archiveMemberResponse, ...errorResponses(...MEMBER_ERRORS) },
});

export const eraseMember = operation({
  ...serverOnly,
  operationId: 'eraseMember',
  method: 'POST',
  path: '/v1/members/{externalUserID}/erase',
  summary: 'Erase the member, their conversations and messages (a GDPR erasure request)',
  params: memberParams,
  headers: idempotentHeaders,
  response: {
    200: eraseMemberResponse,
    ...errorResponses(...MEMBER_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS),
  },
});

export const revokeMemberTokens = operation({
  ...serverOnly,
  operationId: 'revokeMemberTokens',
  method: 'POST',
  path: '/v1/members/{externalUserID}/revoke-tokens',
  summary: 'End every member token issued to the member so far',
  params: memberParams,
  headers: idempotentHeaders,
  response: {
    200: revokeTokensResponse,
    ...errorResponses(...MEMBER_ERRORS, ...BODY_ERRORS, ...IDEMPOTENCY_ERRORS, 'NOT_FOUND'),
  },
});

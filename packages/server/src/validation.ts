import { LIMITS } from '@concierge/protocol';
import { z } from 'zod';
import { ApiError } from './errors.js';

/**
 * Request schemas. Every body and query is parsed here before a route acts on it; the first problem becomes
 * 422 VALIDATION with `error.field` naming the field, so nothing half-valid ever reaches the store.
 */

// eslint-disable-next-line no-control-regex -- matching NUL is the point
const NUL = /\u0000/;

/** Text a person wrote: not blank, at most `max` characters (code points), no NUL (PostgreSQL cannot store it). */
export const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .refine((s) => !NUL.test(s), 'must not contain a NUL character')
    .refine((s) => s.trim() !== '', 'must not be empty or only whitespace')
    .refine((s) => s.length <= max || [...s].length <= max, `must be at most ${max} characters`);

/** An identifier chosen by the org: printable, no surrounding space. */
export const identifier = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters')
    .refine((s) => s.trim() === s, 'must not start or end with whitespace');

const optionalProfileField = text(LIMITS.profileFieldMaxChars).nullable().optional();

export const exchangeBody = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars),
  displayName: optionalProfileField,
  email: optionalProfileField,
  tier: optionalProfileField,
});

export const memberBody = z.object({
  displayName: optionalProfileField,
  email: optionalProfileField,
  tier: optionalProfileField,
});

export const sendBody = (maxChars: number) =>
  z.object({
    message: text(maxChars),
    authorID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  });

export const createConversationBody = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  title: text(LIMITS.titleMaxChars).nullable().optional(),
  type: identifier(LIMITS.typeMaxChars).optional(),
});

export const readBody = z.object({ messageID: identifier(100) });

/** Query values arrive as strings (or arrays, when repeated: refused). */
const queryString = (max: number) => z.string({ error: 'must be given once, as a string' }).max(max);

export const memberQuery = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
});

export const listMessagesQuery = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  cursor: queryString(4096).optional(),
  limit: queryString(10)
    .regex(/^\d+$/, `must be a whole number from 1 to ${LIMITS.pageMax}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= LIMITS.pageMax, `must be a whole number from 1 to ${LIMITS.pageMax}`)
    .optional(),
});

export const streamQuery = z.object({
  externalUserID: identifier(LIMITS.externalUserIDMaxChars).optional(),
  after: queryString(4096).optional(),
  ticket: queryString(512).optional(),
});

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Parses `value` or throws 422 VALIDATION naming the first offending field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  if (where === 'body' && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new ApiError('VALIDATION', 'The body must be a JSON object.', { field: 'body' });
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  const message =
    issue.code === 'invalid_type' && valueAt(value, issue.path) === undefined ? 'is required' : issue.message;
  throw new ApiError('VALIDATION', `\`${field}\` ${message}.`, { field });
}

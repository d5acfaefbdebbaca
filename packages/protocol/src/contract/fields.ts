import { z } from 'zod';

/**
 * The field rules every request schema is built from. Each rule is a zod schema (the validator and the handler's
 * type) whose `.meta()` carries what JSON Schema can say of it (the OpenAPI document); the rest is in the
 * description. Messages are phrased to follow the field name: "`message` must not be empty or only whitespace."
 */

// eslint-disable-next-line no-control-regex -- matching NUL is the point
const NUL = /\u0000/;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Text a person wrote: not blank, at most `max` characters (code points), no NUL (PostgreSQL cannot store it). */
export const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .refine((s) => !NUL.test(s), 'must not contain a NUL character')
    .refine((s) => s.trim() !== '', 'must not be empty or only whitespace')
    .refine((s) => s.length <= max || [...s].length <= max, `must be at most ${max} characters`)
    // JSON Schema counts code points too; the pattern says "something other than whitespace, and no NUL".
    .meta({
      minLength: 1,
      maxLength: max,
      pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$',
      description: 'Not empty or only whitespace; no NUL character.',
    });

/** An identifier chosen by the org: printable, no surrounding space. */
export const identifier = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters')
    .refine((s) => s.trim() === s, 'must not start or end with whitespace')
    .meta({
      pattern: '^[^\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$',
      description: 'No control characters; no leading or trailing whitespace.',
    });

/** Query values arrive as strings (or arrays, when repeated: refused). */
export const queryString = (max: number) => z.string({ error: 'must be given once, as a string' }).max(max);

/** `limit` of a paged list: a whole number from 1 to `max` (the route takes `byDefault` when it is absent). */
export const pageLimit = (max: number, byDefault: number) => {
  const range = `must be a whole number from 1 to ${max}`;
  return queryString(10)
    .regex(/^\d+$/, range)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, range)
    .optional()
    .meta({ description: `Page size, 1 to ${max}; default ${byDefault}.` });
};

/**
 * What this server's cursors and event ids look like (base64url, a dot, base64url). Declared for the document only:
 * the route answers anything else itself (400 INVALID_CURSOR, naming the field), which a pattern check would
 * turn into a 422.
 */
const CURSOR = '[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+';
export const CURSOR_PATTERN = `^${CURSOR}$`;
/** A resume point (`after`, `Last-Event-ID`): a cursor, or empty for "start live". */
export const RESUME_PATTERN = `^(${CURSOR})?$`;

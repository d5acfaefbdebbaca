import { LIMITS } from '../limits.js';
import { z } from 'zod';
import { RESUME_PATTERN } from './fields.js';

/**
 * Request headers a route declares. Loose objects: every other header passes through untouched. The constraints
 * on `Idempotency-Key` are declared for the document only (`.meta`), not checked here: the idempotency
 * middleware checks the key after the route's own checks (docs/api.md, "Order of checks"), and a schema check
 * would move that 422 ahead of them.
 */

const key = z.string().optional();

/** POST routes that record the key: a retry with the same key replays the first answer. */
export const idempotentHeaders = z.looseObject({
  'idempotency-key': key.meta({
    minLength: 1,
    maxLength: LIMITS.idempotencyKeyMaxChars,
    // Printable ASCII is said, not declared as a pattern: HTTP strips spaces at either end in transit, so a
    // fuzzer's "bad" key " k" would arrive as the good key "k".
    description:
      'Printable ASCII. Makes the write happen at most once: a retry with the same key and request gets the ' +
      'first answer again (`Idempotent-Replayed: true`). Kept 24 hours. See docs/idempotency.md.',
  }),
});

/** Routes that are idempotent by themselves or write nothing: the key is accepted and not recorded. */
export const keyIgnoredHeaders = z.looseObject({
  'idempotency-key': key.meta({
    description: 'Accepted (the SDK sends one on every write) and ignored: this route needs none.',
  }),
});

/** Stream routes: where EventSource resumes. */
export const streamHeaders = z.looseObject({
  'last-event-id': z.string().optional().meta({
    pattern: RESUME_PATTERN,
    description: 'The `id:` of the last event received; wins over `?after=`. Sent by EventSource on reconnect.',
  }),
});

import { ERROR_CODES, type ErrorCode } from '../error-codes.js';
import { z } from 'zod';

/**
 * Error answers. Each status gets one named envelope whose `code` lists the codes of that status (the table in
 * `@concierge/protocol` says which status a code has, so a code cannot be declared under the wrong one); each
 * route's answer for that status names, in its description, the codes that route can give.
 */

const STATUSES: number[] = [...new Set(Object.values(ERROR_CODES).map((c): number => c.status))].sort((a, b) => a - b);

const codesOf = (status: number) =>
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].status === status) as [
    ErrorCode,
    ...ErrorCode[],
  ];

const errorFields = {
  message: z.string(),
  requestID: z.string().meta({ description: 'Also in the `x-request-id` header; quote it in reports.' }),
  retryable: z.boolean(),
  field: z
    .string()
    .optional()
    .meta({ description: 'The offending field (VALIDATION, INVALID_CURSOR, EXTERNAL_USER_ID_REQUIRED).' }),
};

/**
 * The error envelope as a client reads it: the contract's `{error: {code, message}}` plus our `requestID`,
 * `retryable`, `field`. `code` is any string here, since clients fall back on the status for a code they do not know.
 */
export const errorBodySchema = z.object({ error: z.object({ code: z.string(), ...errorFields }) });

const envelope = (status: number) =>
  z.object({ error: z.object({ code: z.enum(codesOf(status)), ...errorFields }) }).meta({ id: `Error${status}` });

const ENVELOPES = new Map<number, ReturnType<typeof envelope>>(STATUSES.map((status) => [status, envelope(status)]));

export type ErrorResponse = {
  description: string;
  content: { 'application/json': { schema: ReturnType<typeof envelope> } };
};

/** `{status: answer}` for the given codes, grouped by their status. */
export function errorResponses(...codes: ErrorCode[]): Record<number, ErrorResponse> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, ErrorResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b))
    out[status] = {
      description: list.map((c) => `\`${c}\`: ${ERROR_CODES[c].summary}`).join('\n'),
      content: { 'application/json': { schema: ENVELOPES.get(status)! } },
    };
  return out;
}

/**
 * Any route, before it runs: a bad URL, a query that is not well-formed UTF-8, a request too slow or with headers
 * too large (answered by the client-error handler), one connection too many from the address, and faults.
 */
export const ANY_ROUTE_ERRORS: readonly ErrorCode[] = [
  'BAD_REQUEST',
  'VALIDATION',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'TOO_MANY_CONNECTIONS',
  'INTERNAL',
];

/** Every `/v1` route: the above, the credential, the rate limits (per address, per credential), shutdown. */
export const V1_ERRORS: readonly ErrorCode[] = [
  ...ANY_ROUTE_ERRORS,
  'UNAUTHORIZED',
  'TOKEN_EXPIRED',
  'TOKEN_INVALID',
  'TOKEN_REVOKED',
  'API_KEY_INVALID',
  'RATE_LIMITED',
  'UNAVAILABLE',
];

/** Any route that reads a body: what the JSON parser refuses. */
export const BODY_ERRORS: readonly ErrorCode[] = ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

/** Routes that take an Idempotency-Key and record it. */
export const IDEMPOTENCY_ERRORS: readonly ErrorCode[] = [
  'VALIDATION',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
];

/** Member-mode routes: which member the call acts for. */
export const MEMBER_MODE_ERRORS: readonly ErrorCode[] = ['FORBIDDEN', 'EXTERNAL_USER_ID_REQUIRED'];

/**
 * The one table of error codes. Every non-2xx answer the server gives carries one of these codes in the
 * contract's envelope; `docs/errors.md` is checked against this table by a test, so a code cannot be added
 * here without being documented there.
 *
 * Clients branch on `code` and fall back to the generic code of the status when they meet one they do not
 * know (wire contract, "Errors"), so adding a code is always safe; changing a code's status is not.
 */
export const ERROR_CODES = {
  BAD_REQUEST: {
    status: 400,
    retryable: false,
    summary: 'The request is malformed: JSON that does not parse, a bad header.',
  },
  INVALID_CURSOR: {
    status: 400,
    retryable: false,
    summary: 'A `cursor`, `after` or `Last-Event-ID` that this server did not issue for this resource.',
  },
  UNAUTHORIZED: {
    status: 401,
    retryable: false,
    summary: 'No credential, or an `Authorization` header that is not `Bearer <credential>`.',
  },
  TOKEN_EXPIRED: {
    status: 401,
    retryable: false,
    summary: 'The member or agent token is past its expiry: refresh it and retry once.',
  },
  TOKEN_INVALID: {
    status: 401,
    retryable: false,
    summary: 'The member or agent token is malformed, forged, or signed for another org.',
  },
  TOKEN_REVOKED: {
    status: 401,
    retryable: false,
    summary:
      'The member token was revoked (revoke-tokens) or its member removed; the agent was disabled or the session ended.',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    retryable: false,
    summary: 'Agent sign-in: the email and password do not match an enabled agent (the same answer either way).',
  },
  SIGN_IN_LINK_INVALID: {
    status: 401,
    retryable: false,
    summary: 'An agent sign-in link that is unknown, already used or past its 24 hours.',
  },
  SESSION_INVALID: {
    status: 401,
    retryable: false,
    summary: 'No agent refresh cookie, or one that is unknown, expired, revoked or already rotated.',
  },
  API_KEY_INVALID: { status: 401, retryable: false, summary: 'The Org-API-Key is unknown or revoked.' },
  TICKET_INVALID: {
    status: 401,
    retryable: false,
    summary: 'A stream ticket that is unknown, already used or past its expiry (`--ticket-ttl`, 60 s by default).',
  },
  FORBIDDEN: {
    status: 403,
    retryable: false,
    summary:
      'The credential is valid but may not call this route (a member token on a server-only route, an agent on an admin or key-only route).',
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    summary: 'No such route, or no such resource visible to this credential.',
  },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, summary: 'The route exists but not with this method.' },
  CONFLICT: { status: 409, retryable: false, summary: 'The request conflicts with the current state.' },
  MEMBER_ARCHIVED: {
    status: 409,
    retryable: false,
    summary:
      'Token exchange for an archived member (`DELETE /v1/members/{id}`): no token is issued until a `PUT` restores them.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    retryable: false,
    summary: 'This `Idempotency-Key` was already used with a different request.',
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    retryable: true,
    summary: 'A request with this `Idempotency-Key` is still running: retry after `Retry-After`.',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    retryable: true,
    summary: 'The request (headers or body) did not arrive in time (`--headers-timeout`, `--request-timeout`).',
  },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, summary: 'The body is over the limit (64 KiB by default).' },
  HEADERS_TOO_LARGE: {
    status: 431,
    retryable: false,
    summary: 'The request headers are larger than this server accepts (16 KiB in all).',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, summary: 'A body that is not `application/json`.' },
  VALIDATION: {
    status: 422,
    retryable: false,
    summary: 'A field is missing, has the wrong type or an invalid value; `error.field` names it.',
  },
  EXTERNAL_USER_ID_REQUIRED: {
    status: 422,
    retryable: false,
    summary: 'A server credential called a member-mode route without naming the member (`externalUserID`).',
  },
  WEBHOOK_URL_REFUSED: {
    status: 422,
    retryable: false,
    summary:
      'A webhook URL this server will not call: not `https` (without `--webhooks-allow-http`), or a host that is or ' +
      'resolves to a loopback, private, link-local or metadata address (without `--webhooks-allow-private`).',
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    summary:
      'Too many requests for this credential (or sign-in failures for this email or address): wait `Retry-After`.',
  },
  TOO_MANY_CONNECTIONS: {
    status: 429,
    retryable: true,
    summary: 'This client address holds the maximum number of open connections (`--max-connections-per-ip`).',
  },
  TOO_MANY_STREAMS: {
    status: 429,
    retryable: true,
    summary: 'This member already has the maximum number of open streams.',
  },
  INTERNAL: {
    status: 500,
    retryable: true,
    summary: 'A fault on our side. Logged with the request id; never caused by input.',
  },
  UNAVAILABLE: {
    status: 503,
    retryable: true,
    summary: 'The server is shutting down or its store is unreachable: retry elsewhere.',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The generic code of each status, as the wire contract has clients fall back to it. */
export const GENERIC_CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
};

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

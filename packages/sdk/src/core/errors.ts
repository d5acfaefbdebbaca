import { GENERIC_CODE_BY_STATUS, type ErrorBody } from '@concierge/protocol';

/**
 * The SDK's errors, one small hierarchy (shaped like openai-node's `core/error.ts`):
 *
 *   ConciergeError
 *   ├── APIError                 the server answered non-2xx: status, code, requestID, retryable
 *   │   ├── UnauthorizedError    401   ├── ConflictError      409   ├── ServerError   5xx
 *   │   ├── ForbiddenError       403   ├── ValidationError    422
 *   │   ├── NotFoundError        404   └── RateLimitError     429 (+ retryAfterMs)
 *   ├── NetworkError             no answer: refused, reset, cut mid-body
 *   ├── TimeoutError             no answer within `timeoutMs`
 *   ├── AbortError               the caller's AbortSignal fired
 *   ├── RefreshError             the refresh hook failed (its error is `cause`)
 *   └── WebhookVerificationError a webhook delivery's signature, timestamp or headers do not check out
 *
 * The class is chosen by status alone (`APIError.from`), so a code this SDK does not know yet still lands in its
 * status's class: clients branch on `code`, and new codes may be added to the server freely.
 */
export class ConciergeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  // Names are literals, not `new.target.name`: a minifier renames classes.
  override name = 'ConciergeError';
}

export interface APIErrorInit {
  status: number;
  code: string;
  message: string;
  requestID: string | null;
  retryable: boolean;
  field?: string | undefined;
  headers: Headers;
}

export class APIError extends ConciergeError {
  readonly status: number;
  /** UPPER_SNAKE; branch on this, never on `message`. */
  readonly code: string;
  /** The `x-request-id` of the answer (or the envelope's), to quote in a bug report. */
  readonly requestID: string | null;
  /** The server's own verdict on whether the same request may succeed later. */
  readonly retryable: boolean;
  /** For validation errors: the field at fault. */
  readonly field: string | undefined;
  readonly headers: Headers;
  override name = 'APIError';

  constructor(init: APIErrorInit) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestID = init.requestID;
    this.retryable = init.retryable;
    this.field = init.field;
    this.headers = init.headers;
  }

  /** Builds the error for an answer: the one place a status picks a class. */
  static from(status: number, body: unknown, headers: Headers, retryAfterMs: number | null = null): APIError {
    const envelope = isEnvelope(body) ? body.error : null;
    const init: APIErrorInit = {
      status,
      // A body that is not the envelope (a proxy's page) gets its status's generic code (wire contract, "Errors").
      code: envelope?.code ?? GENERIC_CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'),
      message: envelope?.message ?? `HTTP ${status}`,
      requestID: headers.get('x-request-id') ?? envelope?.requestID ?? null,
      retryable: envelope?.retryable ?? (status === 429 || status >= 500),
      field: envelope?.field,
      headers,
    };
    switch (status) {
      case 401:
        return new UnauthorizedError(init);
      case 403:
        return new ForbiddenError(init);
      case 404:
        return new NotFoundError(init);
      case 409:
        return new ConflictError(init);
      case 422:
        return new ValidationError(init);
      case 429:
        return new RateLimitError(init, retryAfterMs);
    }
    return status >= 500 ? new ServerError(init) : new APIError(init);
  }
}

export class UnauthorizedError extends APIError {
  override name = 'UnauthorizedError';
}
export class ForbiddenError extends APIError {
  override name = 'ForbiddenError';
}
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
export class ValidationError extends APIError {
  override name = 'ValidationError';
}
export class ServerError extends APIError {
  override name = 'ServerError';
}

export class RateLimitError extends APIError {
  /** How long the server asked to wait (`Retry-After`, clamped to 0..300 s); null when it did not say. */
  readonly retryAfterMs: number | null;
  override name = 'RateLimitError';

  constructor(init: APIErrorInit, retryAfterMs: number | null) {
    super(init);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The request got no answer: connection refused or reset, DNS, a body cut mid-way. */
export class NetworkError extends ConciergeError {
  override name = 'NetworkError';
}

/** No answer within `timeoutMs` (on the last attempt: earlier ones were retried). */
export class TimeoutError extends ConciergeError {
  override name = 'TimeoutError';
}

/** The caller's AbortSignal fired; nothing is retried after that. */
export class AbortError extends ConciergeError {
  override name = 'AbortError';
}

/** The refresh hook threw or returned no token. `cause` is what it threw. Never retried by the SDK. */
export class RefreshError extends ConciergeError {
  override name = 'RefreshError';
}

/** Why `verifyWebhook` refused a delivery. */
export type WebhookVerificationReason =
  | 'missing_header'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'invalid_payload';

/**
 * `verifyWebhook` refused a delivery: answer it with a 4xx and do not act on it. `reason` says which check failed
 * (log it; never echo it to the sender). A wrong secret shows as `no_matching_signature`.
 */
export class WebhookVerificationError extends ConciergeError {
  readonly reason: WebhookVerificationReason;
  override name = 'WebhookVerificationError';

  constructor(reason: WebhookVerificationReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * The envelope as the SDK reads it: our server always sends every field, but a proxy or an older server may send
 * only the contract's `code` and `message`.
 */
interface ReadEnvelope {
  error: Pick<ErrorBody['error'], 'code' | 'message'> & Partial<ErrorBody['error']>;
}

function isEnvelope(body: unknown): body is ReadEnvelope {
  if (typeof body !== 'object' || body === null) return false;
  const e = (body as { error?: unknown }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

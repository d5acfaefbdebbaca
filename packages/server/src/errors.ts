import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@concierge/protocol';

/**
 * The one error class routes and middleware throw. The error handler renders it, and only it, as the envelope;
 * anything else becomes a logged 500 INTERNAL with no detail leaked (see app.ts, docs/design/error-envelope.md).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
  }

  body(requestID: string): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message, requestID, retryable: this.retryable };
    if (this.options.field !== undefined) error.field = this.options.field;
    return { error };
  }
}

export const notFound = (what = 'resource'): ApiError => new ApiError('NOT_FOUND', `No such ${what}.`);

/** A token asked for an archived member: the same answer from the route and from the exchange's recorded reply. */
export const memberArchived = (): ApiError =>
  new ApiError(
    'MEMBER_ARCHIVED',
    'This member is archived: restore them with PUT /v1/members/{externalUserID} first.',
    {
      headers: { 'x-should-retry': 'false' },
    },
  );

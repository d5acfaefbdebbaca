import { randomChunk } from '@concierge/ids';

/** An incoming `X-Request-Id` is kept when it is safe to log and echo; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** From the ids package's pooled randomness: a CSPRNG call per request showed as 2% of a list request's CPU. */
export function newRequestID(): string {
  return `req_${randomChunk(12).toString('base64url')}`;
}

export function requestID(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestID();
}

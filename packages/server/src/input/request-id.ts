import { randomBytes } from 'node:crypto';

/** An incoming `X-Request-Id` is kept when it is safe to log and echo; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestID(): string {
  return `req_${randomBytes(12).toString('base64url')}`;
}

export function requestID(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestID();
}

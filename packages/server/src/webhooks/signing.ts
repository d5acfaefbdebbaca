import { createHmac, randomBytes } from 'node:crypto';
import type { WebhookEndpointRecord } from '@concierge/store';

/**
 * Standard Webhooks 1.0 (standardwebhooks.com): a secret is `whsec_` + base64 of the key bytes; a signature is
 * `v1,` + base64(HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)); several signatures travel in one
 * `webhook-signature` header, separated by spaces, and a receiver accepts the message if any one verifies.
 */

const PREFIX = 'whsec_';

/** 32 random bytes: inside the 24 to 64 the specification asks for. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The header value: the current secret's signature, and the previous one's while it is still within its overlap. */
export function signatureHeader(
  endpoint: Pick<WebhookEndpointRecord, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>,
  id: string,
  timestamp: number,
  body: string,
  now: number,
): string {
  const signatures = [sign(endpoint.secret, id, timestamp, body)];
  if (endpoint.previousSecret !== null && (endpoint.previousSecretExpiresAt ?? 0) > now)
    signatures.push(sign(endpoint.previousSecret, id, timestamp, body));
  return signatures.join(' ');
}

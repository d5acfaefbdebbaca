import type { WebhookEvent } from '@concierge/protocol';
import { ConciergeError, WebhookVerificationError } from './errors.js';

/**
 * A delivery's headers as the receiver's framework hands them over: a fetch `Headers` (Fetch API, Hono, Next.js
 * route handlers, Workers, Deno, Bun) or a plain object with any case of names (Node's `req.headers`, Express).
 */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way. Default 300 (5 minutes, as Standard Webhooks says). */
  toleranceSeconds?: number | undefined;
  /** The time to check the timestamp against. Default now. */
  now?: Date | number | undefined;
}

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const encoder = new TextEncoder();

/**
 * Checks one webhook delivery the Standard Webhooks 1.0 way and returns its event; throws
 * `WebhookVerificationError` if it does not check out. Give it the body exactly as it arrived (a string or its
 * bytes): a body parsed and serialised again has other bytes and never verifies.
 *
 * - The signed content is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the endpoint's secret
 *   (`whsec_` + base64 of the key bytes; the prefix is optional here, and raw key bytes are taken too).
 * - `webhook-signature` may list several space-separated `v1,<base64>` signatures (two while the endpoint's
 *   secret rotates, the old one for 24 hours): any one that matches is enough; other versions are skipped.
 * - Each candidate is compared in constant time, so the time taken does not tell a forger how much was right.
 * - `webhook-timestamp` must be within `toleranceSeconds` of now (5 minutes), so a captured delivery cannot be
 *   replayed later. Dedupe what arrives within that window on `webhook-id`, which is the same on every attempt.
 *
 * Uses Web Crypto only (`crypto.subtle`), so it runs unchanged on Node 20+, Deno, Bun and edge runtimes
 * (docs/design/verify-webhook.md).
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secret: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const body = bodyBytes(rawBody);
  const key = secretBytes(secret);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');

  if (!/^[0-9]{1,15}$/.test(timestamp))
    throw new WebhookVerificationError('invalid_timestamp', '`webhook-timestamp` is not a number of seconds.');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor(Number(options.now ?? Date.now()) / 1000);
  const age = nowSeconds - Number(timestamp);
  if (age > tolerance)
    throw new WebhookVerificationError('timestamp_too_old', `The delivery is ${age} s old (at most ${tolerance} s).`);
  if (-age > tolerance)
    throw new WebhookVerificationError('timestamp_too_new', `The delivery is ${-age} s in the future.`);

  const expected = await hmacSHA256(key, concat(encoder.encode(`${id}.${timestamp}.`), body));
  let matched = false;
  // Space-separated; a repeated header that fetch joined with ", " leaves a trailing comma on all but the last.
  for (const item of signatures.split(' ')) {
    const entry = item.endsWith(',') ? item.slice(0, -1) : item;
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== 'v1') continue;
    const candidate = base64Decode(entry.slice(comma + 1));
    // No early exit: every candidate costs the same whichever one matches.
    if (candidate !== null && constantTimeEqual(candidate, expected)) matched = true;
  }
  if (!matched)
    throw new WebhookVerificationError('no_matching_signature', 'No `v1` signature matches this body and secret.');
  return parseEvent(body);
}

function bodyBytes(rawBody: unknown): Uint8Array {
  if (typeof rawBody === 'string') return encoder.encode(rawBody);
  if (rawBody instanceof Uint8Array) return rawBody;
  if (rawBody instanceof ArrayBuffer) return new Uint8Array(rawBody);
  // The usual mistake: a body-parser ran first (express.json()). Its object cannot be turned back into the bytes
  // that were signed, so say what to pass instead of failing every delivery as a bad signature.
  throw new ConciergeError(
    'verifyWebhook needs the raw body (a string or bytes) exactly as received, not a parsed object: ' +
      "read it with express.raw({ type: 'application/json' }), `await request.text()`, or the like.",
  );
}

/** A wrong secret is the receiver's configuration, not the sender's fault: a plain ConciergeError (answer 500). */
function secretBytes(secret: string | Uint8Array): Uint8Array<ArrayBuffer> {
  if (secret instanceof Uint8Array) {
    if (secret.length === 0) throw new ConciergeError('The webhook secret is empty.');
    return new Uint8Array(secret);
  }
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = base64Decode(text);
  if (bytes === null || bytes.length === 0)
    throw new ConciergeError('The webhook secret must be `whsec_` followed by base64, as the server showed it.');
  return bytes;
}

function header(headers: WebhookHeaders, name: string): string {
  let value: string | readonly string[] | undefined | null;
  if (typeof (headers as Partial<Headers>).get === 'function') value = (headers as Headers).get(name);
  else value = lookup(Object.entries(headers as Record<string, string | readonly string[] | undefined>), name);
  // A header sent twice arrives as a list (Node) or comma-joined (fetch); only the signatures may be repeated.
  if (isList(value)) value = name === 'webhook-signature' ? value.join(' ') : value.length === 1 ? value[0] : '';
  if (typeof value !== 'string' || value === '')
    throw new WebhookVerificationError('missing_header', `The \`${name}\` header is missing.`);
  return value;
}

function isList(value: unknown): value is readonly string[] {
  return Array.isArray(value);
}

function lookup<V>(entries: Array<[string, V]>, name: string): V | undefined {
  for (const [k, v] of entries) if (k.toLowerCase() === name) return v;
  return undefined;
}

async function hmacSHA256(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) throw new ConciergeError('verifyWebhook needs Web Crypto (`crypto.subtle`): Node 20+.');
  const cryptoKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', cryptoKey, data));
}

/** Length is not secret (every HMAC-SHA256 is 32 bytes); the content is compared without an early exit. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Standard base64, padded or not; null for anything else (so a mangled signature is simply no match). */
function base64Decode(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let binary: string;
  try {
    binary = atob(text.padEnd(Math.ceil(text.length / 4) * 4, '='));
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function parseEvent(body: Uint8Array): WebhookEvent {
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'The signed body is not UTF-8 JSON.');
  }
  const e = event as { type?: unknown; timestamp?: unknown; data?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.data !== 'object')
    throw new WebhookVerificationError('invalid_payload', 'The signed body is not a webhook event.');
  return event as WebhookEvent;
}

import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import type { Api } from './harness/index.js';

/**
 * What the webhook suites share. The permissive flags are what lets a loopback receiver be used at all; the SSRF
 * suite runs a server without them.
 */
export const PERMISSIVE = ['--webhooks-allow-http', '--webhooks-allow-private', '--rate-limit', '0'];
/** Retries a few hundred milliseconds apart instead of seconds to hours; the poll finds them when due. */
export const FAST = [
  '--webhook-retry-schedule',
  '0,0.2,0.2',
  '--webhook-poll',
  '0.1',
  '--webhook-timeout',
  '2',
  '--webhook-lease',
  '4',
];

export const verify = (secret: string, r: { headers: Record<string, unknown>; body: string }) =>
  new Webhook(secret).verify(r.body, r.headers as Record<string, string>);

export async function createEndpoint(api: Api, key: string, url: string, events: string[] = ['*'], headers = {}) {
  const r = await api.post('/v1/webhooks', { token: key, body: { url, events }, headers });
  assert.equal(r.status, 201, r.text);
  return r.json as { id: string; signingSecret: string; url: string; events: string[] };
}

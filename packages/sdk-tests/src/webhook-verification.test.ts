import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { ConciergeError, verifyWebhook, WebhookVerificationError } from '@concierge/sdk/server';

/**
 * `verifyWebhook` against the reference implementation of Standard Webhooks (the `standardwebhooks` package): what
 * it signs, we accept; what anyone changed after it signed, we refuse. No server here: the end-to-end check against
 * the server's own signer is in webhooks.test.ts.
 */

/**
 * Our checks take `now`; the reference's read the clock. The tests sign around the real time, at most 4 minutes
 * off, so both agree on "within 5 minutes" for as long as a run could take.
 */
const nowSeconds = Math.floor(Date.now() / 1000);
const NOW = nowSeconds * 1000;

function secretText(bytes: Uint8Array): string {
  return `whsec_${Buffer.from(bytes).toString('base64')}`;
}

/** A delivery as the reference signer makes it. */
function signed(secret: Uint8Array, id: string, seconds: number, body: string) {
  const signature = new Webhook(secretText(secret)).sign(id, new Date(seconds * 1000), body);
  return { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': signature };
}

async function refusal(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WebhookVerificationError, `not a WebhookVerificationError: ${String(error)}`);
    return error;
  }
  assert.fail('the delivery was accepted');
}

const secrets = fc.uint8Array({ minLength: 24, maxLength: 64 });
const ids = fc.stringMatching(/^msg_[A-Za-z0-9]{1,32}$/);
const events = fc.record({
  type: fc.constantFrom('conversation.message_created', 'conversation.created', 'member.deleted', 'webhook.test'),
  timestamp: fc.constant('2026-11-29T12:00:00.000Z'),
  data: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null))),
});
/** Within the tolerance either way, with a minute to spare for the reference, which reads the clock. */
const skews = fc.integer({ min: -240, max: 240 });

describe('verifyWebhook against the standardwebhooks reference signer', () => {
  test('accepts whatever the reference signs, and returns the event', async () => {
    await fc.assert(
      fc.asyncProperty(secrets, ids, skews, events, async (secret, id, skew, event) => {
        const body = JSON.stringify(event);
        const headers = signed(secret, id, nowSeconds + skew, body);
        event = JSON.parse(body) as typeof event;
        const got = await verifyWebhook(body, headers, secretText(secret), { now: NOW });
        assert.deepEqual(got, event);
        assert.deepEqual(new Webhook(secretText(secret)).verify(body, headers), event, 'the reference agrees');
        // The same bytes given as a Buffer, the secret as raw bytes or without its prefix, the headers as `Headers`.
        assert.deepEqual(await verifyWebhook(Buffer.from(body), new Headers(headers), secret, { now: NOW }), event);
        const bare = secretText(secret).slice('whsec_'.length);
        assert.deepEqual(await verifyWebhook(body, headers, bare, { now: NOW }), event);
      }),
      { numRuns: 200 },
    );
  });

  test('any tampering fails: body, id, timestamp, signature or secret changed after signing', async () => {
    const tamper = fc.constantFrom('body', 'id', 'timestamp', 'signature', 'secret');
    await fc.assert(
      fc.asyncProperty(secrets, ids, skews, events, tamper, fc.nat(), async (secret, id, skew, event, what, pick) => {
        const body = JSON.stringify(event);
        const seconds = nowSeconds + skew;
        const headers = signed(secret, id, seconds, body);
        let key: string | Uint8Array = secretText(secret);
        if (what === 'body') {
          // Flip one bit of one byte (the JSON may no longer parse: the signature check comes first).
          const bytes = Buffer.from(body);
          bytes[pick % bytes.length] = bytes[pick % bytes.length]! ^ (1 << (pick % 8));
          await refusal(verifyWebhook(bytes, headers, key, { now: NOW }));
          assert.throws(() => new Webhook(secretText(secret)).verify(bytes, headers), 'the reference agrees');
          return;
        }
        if (what === 'id') headers['webhook-id'] = `${id}x`;
        if (what === 'timestamp') headers['webhook-timestamp'] = String(seconds + (pick % 2 === 0 ? 1 : -1));
        if (what === 'signature') {
          const raw = Buffer.from(headers['webhook-signature'].slice(3), 'base64');
          raw[pick % raw.length] = raw[pick % raw.length]! ^ (1 << (pick % 8));
          headers['webhook-signature'] = `v1,${raw.toString('base64')}`;
        }
        if (what === 'secret') {
          const other = Uint8Array.from(secret);
          other[pick % other.length] = other[pick % other.length]! ^ (1 << (pick % 8));
          key = other;
        }
        const error = await refusal(verifyWebhook(body, headers, key, { now: NOW }));
        assert.equal(error.reason, 'no_matching_signature');
        // The reference agrees that the changed delivery is not genuine.
        assert.throws(() => new Webhook(typeof key === 'string' ? key : secretText(key)).verify(body, headers));
      }),
      { numRuns: 300 },
    );
  });

  test('several signatures in one header: any v1 that matches is enough; other versions are skipped', async () => {
    const secret = randomBytes(32);
    const body = JSON.stringify({ type: 'webhook.test', timestamp: 'x', data: { endpointID: 'whe_1' } });
    const headers = signed(secret, 'msg_1', nowSeconds, body);
    const good = headers['webhook-signature'];
    const stale = new Webhook(secretText(randomBytes(32))).sign('msg_1', new Date(NOW), body);
    const v1a = `v1a,${good.slice(3)}`;
    for (const list of [`${stale} ${good}`, `${good} ${stale}`, `${v1a} ${good}`, `${stale} ${stale} ${good}`]) {
      const several = { ...headers, 'webhook-signature': list };
      assert.equal((await verifyWebhook(body, several, secret, { now: NOW })).type, 'webhook.test');
      new Webhook(secretText(secret)).verify(body, several);
    }
    for (const list of [stale, `${stale} ${stale}`, v1a, 'v1,', 'v1,not-base64!', '', 'v2,abc']) {
      const error = await refusal(verifyWebhook(body, { ...headers, 'webhook-signature': list }, secret, { now: NOW }));
      assert.ok(['no_matching_signature', 'missing_header'].includes(error.reason), `${list}: ${error.reason}`);
    }
  });

  test('the timestamp must be within 5 minutes of now, either way', async () => {
    const secret = randomBytes(32);
    const body = '{"type":"webhook.test","timestamp":"x","data":{}}';
    for (const [skew, reason] of [
      [-300, null],
      [300, null],
      [-301, 'timestamp_too_old'],
      [301, 'timestamp_too_new'],
      [-86_400, 'timestamp_too_old'],
    ] as const) {
      const headers = signed(secret, 'msg_t', nowSeconds + skew, body);
      if (reason === null) await verifyWebhook(body, headers, secret, { now: NOW });
      else assert.equal((await refusal(verifyWebhook(body, headers, secret, { now: NOW }))).reason, reason);
    }
    const headers = signed(secret, 'msg_t', nowSeconds - 600, body);
    assert.equal(
      (await verifyWebhook(body, headers, secret, { now: NOW, toleranceSeconds: 600 })).type,
      'webhook.test',
    );
    for (const bad of ['', '12.5', '-1', 'abc', '1e9', ' 1764417600'])
      assert.ok(
        ['invalid_timestamp', 'missing_header'].includes(
          (await refusal(verifyWebhook(body, { ...headers, 'webhook-timestamp': bad }, secret, { now: NOW }))).reason,
        ),
        bad,
      );
  });

  test('headers are found in any case, in a plain object or Headers; a missing one is named', async () => {
    const secret = randomBytes(32);
    const body = '{"type":"webhook.test","timestamp":"x","data":{}}';
    const h = signed(secret, 'msg_c', nowSeconds, body);
    const shouty = {
      'Webhook-Id': h['webhook-id'],
      'WEBHOOK-TIMESTAMP': h['webhook-timestamp'],
      'webhook-Signature': h['webhook-signature'],
    };
    assert.equal((await verifyWebhook(body, shouty, secret, { now: NOW })).type, 'webhook.test');
    // Node hands a repeated header over as a list: signatures may be split over several.
    const split = { ...h, 'webhook-signature': ['v1,AAAA', h['webhook-signature']] };
    assert.equal((await verifyWebhook(body, split, secret, { now: NOW })).type, 'webhook.test');
    // fetch's Headers joins a repeated header with ", ".
    const joined = new Headers(h);
    joined.set('webhook-signature', 'v1,AAAA');
    joined.append('webhook-signature', h['webhook-signature']);
    assert.equal(joined.get('webhook-signature'), `v1,AAAA, ${h['webhook-signature']}`);
    assert.equal((await verifyWebhook(body, joined, secret, { now: NOW })).type, 'webhook.test');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _, ...rest } = h;
      const error = await refusal(verifyWebhook(body, rest, secret, { now: NOW }));
      assert.equal(error.reason, 'missing_header');
      assert.match(error.message, new RegExp(name));
    }
  });

  test('a parsed body or a malformed secret is the receiver’s mistake: a ConciergeError, not a refusal', async () => {
    const secret = randomBytes(32);
    const body = '{"type":"webhook.test","timestamp":"x","data":{}}';
    const h = signed(secret, 'msg_p', nowSeconds, body);
    for (const [raw, key] of [
      [JSON.parse(body) as unknown, secretText(secret)],
      [body, 'whsec_'],
      [body, 'whsec_!!!'],
      [body, new Uint8Array()],
    ] as const) {
      const error = await verifyWebhook(raw as string, h, key, { now: NOW }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConciergeError && !(error instanceof WebhookVerificationError), String(error));
    }
  });

  test('a signed body that is not an event is refused as invalid_payload', async () => {
    const secret = randomBytes(32);
    for (const body of ['not json', '[]', '{"type":1,"data":{}}', '"x"', 'null']) {
      const h = signed(secret, 'msg_j', nowSeconds, body);
      assert.equal((await refusal(verifyWebhook(body, h, secret, { now: NOW }))).reason, 'invalid_payload');
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Api, STORES, TestServer, withServer } from './harness/index.js';

/**
 * Random bodies, headers, ids, cursors and query strings against every route: never a 5xx, never a crash, and
 * every non-2xx is the envelope with a known shape.
 */
const ROUTES: Array<[string, string]> = [
  ['POST', '/v1/auth/exchange'],
  ['GET', '/v1/members/{id}'],
  ['PUT', '/v1/members/{id}'],
  ['DELETE', '/v1/members/{id}'],
  ['POST', '/v1/members/{id}/revoke-tokens'],
  ['GET', '/v1/conversations'],
  ['POST', '/v1/conversations'],
  ['GET', '/v1/conversations/{id}'],
  ['GET', '/v1/conversations/{id}/messages'],
  ['POST', '/v1/conversations/{id}/messages'],
  ['POST', '/v1/conversations/{id}/read'],
  ['POST', '/v1/conversations/{id}/typing'],
  ['POST', '/v1/stream-tickets'],
  ['GET', '/v1/conversations/{id}/stream'],
  ['GET', '/v1/stream'],
];

for (const store of STORES) {
  describe(`property: no input breaks the server [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let member: string;
    let conversation: string;
    let cursor: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--token-ttl', '600'] }));
      api = new Api(server.url);
      member = await api.memberToken(server.org.apiKey, 'prop');
      conversation = await api.openConversation(member);
      for (let i = 0; i < 3; i++) await api.send(member, conversation, `seed ${i}`);
      cursor = (await api.get(`/v1/conversations/${conversation}/messages`, { token: member, query: { limit: '1' } }))
        .json.nextCursor;
    });
    after(() => close());

    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('', ' ', '\u0000', 'null', '%', '%00', '../../etc', 'conv_x', 'ck_live_x', '😀', 'a'.repeat(300)),
    );
    const jsonValue = fc.jsonValue({ maxDepth: 3 });
    const bodyArb = fc.oneof(
      jsonValue.map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            message: fc.oneof(anyText, jsonValue),
            externalUserID: fc.oneof(anyText, jsonValue),
            title: fc.oneof(anyText, jsonValue),
            type: fc.oneof(anyText, jsonValue),
            messageID: fc.oneof(anyText, jsonValue),
            displayName: fc.oneof(anyText, jsonValue),
            authorID: fc.oneof(anyText, jsonValue),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
      anyText,
    );

    test('random requests on every route: never a 5xx, always the envelope', async () => {
      const credential = fc.constantFrom('member', 'server', 'none', 'garbage', 'expired-looking');
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          credential,
          fc.oneof(fc.constant('real'), anyText),
          fc.option(bodyArb, { nil: undefined }),
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'text/plain',
            'application/octet-stream',
            '',
          ),
          fc.dictionary(
            fc.constantFrom('limit', 'cursor', 'externalUserID', 'after', 'ticket', 'x'),
            fc.oneof(anyText, fc.constant(cursor)),
          ),
          fc.option(anyText, { nil: undefined }),
          fc.option(fc.oneof(anyText, fc.constant(cursor)), { nil: undefined }),
          async ([method, template], cred, idChoice, body, contentType, query, idemKey, lastEventId) => {
            const id = idChoice === 'real' ? conversation : idChoice;
            const path = template.replace('{id}', encodeURIComponent(id));
            const headers: Record<string, string> = {};
            if (cred === 'member') headers.authorization = `Bearer ${member}`;
            if (cred === 'server') headers.authorization = `Bearer ${server.org.apiKey}`;
            if (cred === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x';
            if (cred === 'expired-looking') headers.authorization = `Bearer ${member.slice(0, -3)}abc`;
            if (body !== undefined && contentType !== '') headers['content-type'] = contentType;
            if (idemKey !== undefined && /^[\x21-\x7e]*$/.test(idemKey)) headers['idempotency-key'] = idemKey;
            if (lastEventId !== undefined && /^[\x20-\x7e]*$/.test(lastEventId)) headers['last-event-id'] = lastEventId;
            const url = new URL(path, server.url);
            for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
            const controller = new AbortController();
            const res = await fetch(url, {
              method,
              headers,
              ...(body !== undefined && method !== 'GET' && { body }),
              signal: controller.signal,
            });
            if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
              // A stream opened: that is a success; close it.
              assert.equal(res.status, 200);
              controller.abort();
              return;
            }
            const text = await res.text();
            assert.ok(res.status < 500, `${method} ${url.pathname}${url.search} → ${res.status} ${text}`);
            assert.ok(res.headers.get('x-request-id'));
            if (res.status >= 400) {
              const parsed = JSON.parse(text) as { error: Record<string, unknown> };
              assert.equal(typeof parsed.error.code, 'string');
              assert.match(parsed.error.code as string, /^[A-Z][A-Z_]*$/);
              assert.equal(typeof parsed.error.message, 'string');
              assert.equal(typeof parsed.error.requestID, 'string');
              assert.equal(typeof parsed.error.retryable, 'boolean');
            } else if (text !== '') JSON.parse(text);
          },
        ),
        { numRuns: 400, interruptAfterTimeLimit: 120_000 },
      );
      // The server is still up and its data intact.
      const history = await api.get(`/v1/conversations/${conversation}/messages`, { token: member });
      assert.equal(history.status, 200);
    });
  });
}

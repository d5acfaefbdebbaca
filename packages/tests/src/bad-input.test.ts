import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, errorCode, STORES, TestServer, withServer } from './harness/index.js';

for (const store of STORES) {
  describe(`bad input [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let token: string;
    let id: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      token = await api.memberToken(server.org.apiKey, 'fuzzy');
      id = await api.openConversation(token);
    });
    after(() => close());

    const history = async () =>
      (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } })).json.messages
        .length as number;

    const post = (rawBody: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      api.post(`/v1/conversations/${id}/messages`, { token, rawBody, headers });

    test('each bad body gets its status and code and writes nothing', async () => {
      const before = await history();
      const cases: Array<[string, Record<string, string> | undefined, number, string, string?]> = [
        ['{"message": "unterminated', undefined, 400, 'BAD_REQUEST'],
        ['not json at all', undefined, 400, 'BAD_REQUEST'],
        ['{"message": 42}', undefined, 422, 'VALIDATION', 'message'],
        ['{"message": null}', undefined, 422, 'VALIDATION', 'message'],
        ['{}', undefined, 422, 'VALIDATION', 'message'],
        ['[]', undefined, 422, 'VALIDATION', 'body'],
        ['"just a string"', undefined, 422, 'VALIDATION', 'body'],
        ['null', undefined, 422, 'VALIDATION', 'body'],
        ['', undefined, 422, 'VALIDATION', 'body'],
        ['{"message": ""}', undefined, 422, 'VALIDATION', 'message'],
        ['{"message": "   \\n\\t "}', undefined, 422, 'VALIDATION', 'message'],
        ['{"message": "nul \\u0000 inside"}', undefined, 422, 'VALIDATION', 'message'],
        [JSON.stringify({ message: 'x'.repeat(4001) }), undefined, 422, 'VALIDATION', 'message'],
        ['{"message": "hi", "authorID": "agent"}', undefined, 422, 'VALIDATION', 'authorID'],
        ['message=hi', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['hi', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        [JSON.stringify({ message: 'y'.repeat(70 * 1024) }), undefined, 413, 'PAYLOAD_TOO_LARGE'],
      ];
      const wrongType = await post('{"message": 42}');
      assert.doesNotMatch(wrongType.json.error.message, /required/);
      assert.match((await post('{}')).json.error.message, /required/);
      for (const [body, headers, status, code, field] of cases) {
        const r = await post(body, headers);
        assert.equal(r.status, status, `${body.slice(0, 40)} → ${r.text}`);
        assert.equal(errorCode(r), code, body.slice(0, 40));
        if (field !== undefined) assert.equal(r.json.error.field, field, body.slice(0, 40));
        assert.equal(typeof r.json.error.requestID, 'string');
        assert.equal(typeof r.json.error.retryable, 'boolean');
        assert.equal(r.headers.get('x-request-id'), r.json.error.requestID);
        assert.ok(!/at .*\.js:\d+/.test(r.text), 'no stack trace');
      }
      assert.equal(await history(), before);
    });

    test('4,000 characters are accepted, counted as characters not bytes', async () => {
      assert.equal((await api.send(token, id, 'é'.repeat(4000))).status, 200);
      assert.equal((await api.send(token, id, '😀'.repeat(4000))).status, 200);
      assert.equal((await api.send(token, id, '😀'.repeat(4001))).status, 422);
    });

    test('unknown routes and methods are 404 in the envelope', async () => {
      for (const [method, path] of [
        ['GET', '/v1/nothing'],
        ['GET', '/'],
        ['PATCH', '/v1/conversations'],
        ['DELETE', `/v1/conversations/${id}`],
        ['GET', '/v1/conversations/%E0%A4%A/messages'],
      ] as const) {
        const r = await api.call(method, path, { token });
        assert.ok(r.status === 404 || r.status === 400, `${method} ${path} ${r.status}`);
        assert.ok(['NOT_FOUND', 'BAD_REQUEST'].includes(errorCode(r)));
      }
    });

    test('a path segment over 1024 characters is 400 BAD_REQUEST in the envelope (Fastify says 414, which has no code)', async () => {
      const r = await api.get(`/v1/conversations/${'a'.repeat(2000)}`, { token });
      assert.equal(r.status, 400);
      assert.equal(errorCode(r), 'BAD_REQUEST');
      assert.match(r.json.error.message, /path segment/);
    });

    test('wrong types in bodies of other routes name the field', async () => {
      const key = server.org.apiKey;
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', '/v1/auth/exchange', { externalUserID: 7 }, 'externalUserID'],
        ['POST', '/v1/auth/exchange', {}, 'externalUserID'],
        ['POST', '/v1/auth/exchange', { externalUserID: ' padded ' }, 'externalUserID'],
        ['POST', '/v1/auth/exchange', { externalUserID: 'x'.repeat(256) }, 'externalUserID'],
        ['POST', '/v1/auth/exchange', { externalUserID: 'ok', displayName: 5 }, 'displayName'],
        ['PUT', '/v1/members/someone', { tier: ['gold'] }, 'tier'],
        ['POST', '/v1/conversations', { externalUserID: 'a', title: 12 }, 'title'],
        ['POST', '/v1/conversations', { externalUserID: 'a', type: '' }, 'type'],
      ];
      for (const [method, path, body, field] of cases) {
        const r = await api.call(method, path, { token: key, body });
        assert.equal(r.status, 422, `${path} ${JSON.stringify(body)} ${r.text}`);
        assert.equal(r.json.error.field, field);
      }
    });

    test('an incoming X-Request-Id is kept; a hostile one is replaced', async () => {
      const kept = await api.get('/v1/conversations', { token, headers: { 'x-request-id': 'trace-abc.123' } });
      assert.equal(kept.headers.get('x-request-id'), 'trace-abc.123');
      const replaced = await api.get('/v1/conversations', { token, headers: { 'x-request-id': 'bad id with spaces' } });
      assert.match(replaced.headers.get('x-request-id') ?? '', /^req_/);
    });
  });
}

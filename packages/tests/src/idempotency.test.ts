import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Api, clockPast, errorCode, STORES, TestServer, withServer } from './harness/index.js';

for (const store of STORES) {
  describe(`idempotency [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let token: string;
    let id: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      token = await api.memberToken(server.org.apiKey, 'retrier');
      id = await api.openConversation(token);
    });
    after(() => close());

    const count = async () =>
      (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } })).json.messages
        .length as number;

    test('a retried send with the same key posts once and replays the original answer', async () => {
      const before = await count();
      const key = randomUUID();
      const first = await api.send(token, id, 'once only', { 'idempotency-key': key });
      const second = await api.send(token, id, 'once only', { 'idempotency-key': key });
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.equal(second.text, first.text);
      assert.equal(await count(), before + 1);
    });

    test('the same key with a different body is 409 IDEMPOTENCY_KEY_REUSED, not retryable', async () => {
      const key = randomUUID();
      await api.send(token, id, 'original', { 'idempotency-key': key });
      const before = await count();
      const r = await api.send(token, id, 'different', { 'idempotency-key': key });
      assert.equal(r.status, 409);
      assert.equal(errorCode(r), 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(r.headers.get('x-should-retry'), 'false');
      assert.equal(await count(), before);
      // Spacing and key order in the JSON body do not make a request different.
      const k2 = randomUUID();
      const headers = { 'content-type': 'application/json', 'idempotency-key': k2 };
      const path = `/v1/conversations/${id}/messages`;
      await api.post(path, { token: server.org.apiKey, rawBody: '{"message":"ab","authorID":"agent"}', headers });
      const same = await api.post(path, {
        token: server.org.apiKey,
        rawBody: '{ "authorID" : "agent", "message": "ab" }',
        headers,
      });
      assert.equal(same.headers.get('idempotent-replayed'), 'true');
    });

    test('20 concurrent sends with one key make exactly one message', async () => {
      const before = await count();
      const key = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => api.send(token, id, 'stampede', { 'idempotency-key': key })),
      );
      for (const r of results) {
        assert.ok(r.status === 200 || r.status === 409, `${r.status} ${r.text}`);
        if (r.status === 409) {
          assert.equal(errorCode(r), 'IDEMPOTENCY_KEY_IN_USE');
          assert.equal(r.headers.get('retry-after'), '1');
        }
      }
      assert.ok(results.some((r) => r.status === 200));
      assert.equal(await count(), before + 1);
      const ids = new Set(results.filter((r) => r.status === 200).map((r) => r.json.message.id));
      assert.equal(ids.size, 1);
      const later = await api.send(token, id, 'stampede', { 'idempotency-key': key });
      assert.equal(later.headers.get('idempotent-replayed'), 'true');
      assert.equal(later.json.message.id, [...ids][0]);
    });

    test('keys are scoped per principal: another member with the same key posts their own message', async () => {
      const key = randomUUID();
      const other = await api.memberToken(server.org.apiKey, 'other-retrier');
      const otherConv = await api.openConversation(other);
      const a = await api.send(token, id, 'mine', { 'idempotency-key': key });
      const b = await api.send(other, otherConv, 'mine', { 'idempotency-key': key });
      assert.equal(b.status, 200);
      assert.equal(b.headers.get('idempotent-replayed'), null);
      assert.notEqual(a.json.message.id, b.json.message.id);
    });

    test('requests rejected before they run store nothing under their key', async () => {
      const key = randomUUID();
      const invalid = await api.send(token, id, '   ', { 'idempotency-key': key });
      assert.equal(errorCode(invalid), 'VALIDATION');
      const ok = await api.send(token, id, 'now valid', { 'idempotency-key': key });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('idempotent-replayed'), null);
      const k2 = randomUUID();
      const missing = await api.send(token, 'conv_missing', 'x', { 'idempotency-key': k2 });
      assert.equal(errorCode(missing), 'NOT_FOUND');
      assert.equal((await api.send(token, id, 'x', { 'idempotency-key': k2 })).status, 200);
    });

    test('keys over 255 characters are refused; 255 is fine', async () => {
      const long = await api.send(token, id, 'x', { 'idempotency-key': 'k'.repeat(256) });
      assert.equal(errorCode(long), 'VALIDATION');
      assert.equal(long.json.error.field, 'Idempotency-Key');
      assert.equal((await api.send(token, id, 'x', { 'idempotency-key': 'k'.repeat(255) })).status, 200);
    });

    test('every POST honours a key: exchange replays the very same token, conversations open once', async () => {
      const key = randomUUID();
      const body = { externalUserID: 'idem-exchange' };
      const a = await api.post('/v1/auth/exchange', {
        token: server.org.apiKey,
        body,
        headers: { 'idempotency-key': key },
      });
      // In a later millisecond a fresh exchange would mint a different token: only a replay returns the same one.
      await clockPast(Date.now());
      const b = await api.post('/v1/auth/exchange', {
        token: server.org.apiKey,
        body,
        headers: { 'idempotency-key': key },
      });
      assert.equal(b.headers.get('idempotent-replayed'), 'true');
      assert.equal(b.json.accessToken, a.json.accessToken);
      const ck = randomUUID();
      const c1 = await api.post('/v1/conversations', {
        token,
        body: { title: 'once' },
        headers: { 'idempotency-key': ck },
      });
      const c2 = await api.post('/v1/conversations', {
        token,
        body: { title: 'once' },
        headers: { 'idempotency-key': ck },
      });
      assert.equal(c1.status, 201);
      assert.equal(c2.status, 201);
      assert.equal(c2.json.id, c1.json.id);
      const list = await api.get('/v1/conversations', { token });
      assert.equal(list.json.conversations.filter((c: { title: string }) => c.title === 'once').length, 1);
    });

    test('a replay survives a restart (the key is durable with its write)', async () => {
      const key = randomUUID();
      const first = await api.send(token, id, 'durable', { 'idempotency-key': key });
      await server.restart();
      api = new Api(server.url);
      const again = await api.send(token, id, 'durable', { 'idempotency-key': key });
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.json.message.id, first.json.message.id);
    });
  });
}

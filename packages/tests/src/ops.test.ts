import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { acrossStores, Api, type CallResult, errorCode, TestServer, withServer } from './harness/index.js';

acrossStores((store) => {
  describe(`operations [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;

    before(async () => {
      ({ server, close } = await withServer(store, {
        args: ['--rate-limit', '30', '--cors-origins', 'https://app.example.com,https://other.example.com'],
      }));
      api = new Api(server.url);
    });
    after(() => close());

    test('healthz and readyz answer', async () => {
      assert.deepEqual((await api.get('/healthz')).json, { ok: true });
      const ready = await api.get('/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.json.store, store.name);
    });

    test('metrics are in the Prometheus format, by route and status', async () => {
      await api.get('/v1/conversations', { token: server.org.apiKey });
      // Served on its own loopback listener, not on the API port.
      assert.equal((await api.get('/metrics')).status, 404);
      const r = await fetch(server.metricsURL);
      const text = await r.text();
      assert.equal(r.status, 200);
      assert.match(server.metricsURL, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(text, /concierge_http_requests_total\{route="\/v1\/conversations",method="GET",status="422"\} \d+/);
      assert.match(text, /concierge_http_request_duration_seconds_bucket/);
      assert.match(text, /concierge_sse_streams_open \d+/);
    });

    test('CORS: an allowed origin gets a preflight answer and the exposed headers; others do not', async () => {
      const pre = await fetch(`${server.url}/v1/conversations`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });
      assert.ok(pre.status === 204 || pre.status === 200);
      assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /idempotency-key/);
      const get = await fetch(`${server.url}/v1/conversations`, {
        headers: { origin: 'https://app.example.com', authorization: `Bearer ${server.org.apiKey}` },
      });
      assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example.com');
      const exposed = get.headers.get('access-control-expose-headers') ?? '';
      for (const h of ['x-request-id', 'idempotent-replayed', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining'])
        assert.match(exposed, new RegExp(h));
      const evil = await fetch(`${server.url}/v1/conversations`, { headers: { origin: 'https://evil.example.net' } });
      assert.equal(evil.headers.get('access-control-allow-origin'), null);
    });

    test('the rate limit answers 429 RATE_LIMITED with Retry-After and RateLimit headers, per credential', async () => {
      const token = await api.memberToken(server.org.apiKey, 'busy');
      let limited: CallResult | null = null;
      let lastOk: CallResult | null = null;
      for (let i = 0; i < 40 && limited === null; i++) {
        const r = await api.get('/v1/conversations', { token });
        if (r.status === 429) limited = r;
        else lastOk = r;
      }
      assert.ok(limited !== null, 'never limited');
      assert.equal(errorCode(limited), 'RATE_LIMITED');
      assert.equal(limited.json.error.retryable, true);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal(limited.headers.get('ratelimit-limit'), '30');
      assert.equal(limited.headers.get('ratelimit-remaining'), '0');
      assert.equal(lastOk?.headers.get('ratelimit-remaining'), '0');
      // Another credential has its own budget.
      const other = await api.memberToken(server.org.apiKey, 'calm');
      assert.equal((await api.get('/v1/conversations', { token: other })).status, 200);
    });
  });

  describe(`lifecycle [${store.name}]`, () => {
    test('SIGTERM finishes cleanly and everything is intact after a restart on the same data', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      try {
        let api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'durable', { displayName: 'D' });
        const id = await api.openConversation(token, { title: 'Keep me' });
        const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => api.send(token, id, `n${i}`)));
        assert.ok(sent.every((r) => r.status === 200));
        const beforeHistory = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } }))
          .json;
        const code = await server.stop();
        assert.equal(code, 0);
        await server.restart();
        api = new Api(server.url);
        assert.doesNotMatch(server.stdout, /First start/);
        const afterHistory = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } }))
          .json;
        assert.deepEqual(afterHistory, beforeHistory);
        const list = (await api.get('/v1/conversations', { token })).json;
        assert.equal(list.conversations[0].title, 'Keep me');
        assert.equal((await api.get('/v1/members/durable', { token: server.org.apiKey })).json.displayName, 'D');
        // Cursors stay valid across restarts.
        const page = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '10' } })).json;
        assert.equal(
          (await api.get(`/v1/conversations/${id}/messages`, { token, query: { cursor: page.nextCursor } })).status,
          200,
        );
      } finally {
        await close();
      }
    });

    test('requests in flight when SIGTERM arrives are answered', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      try {
        const api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'inflight');
        const id = await api.openConversation(token);
        const sends = Array.from({ length: 50 }, (_, i) => api.send(token, id, `m${i}`).catch((e: unknown) => e));
        // SIGTERM once the server is answering the batch: the first answer is in, the rest are in flight.
        await Promise.race(sends);
        const stopping = server.stop();
        const results = await Promise.all(sends);
        assert.equal(await stopping, 0);
        const ok = results.filter((r) => !(r instanceof Error) && (r as { status: number }).status === 200).length;
        await server.restart();
        const again = new Api(server.url);
        const stored = (await again.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } })).json
          .messages.length;
        // Every send answered 200 is stored: nothing acknowledged is lost.
        assert.ok(stored >= ok, `${stored} stored < ${ok} acknowledged`);
        for (const r of results)
          if (!(r instanceof Error))
            assert.ok([200, 503].includes((r as { status: number }).status), String((r as { status: number }).status));
      } finally {
        await close();
      }
    });
  });
});

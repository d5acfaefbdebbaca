import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AbortError, NetworkError, RateLimitError, ServerError, TimeoutError, type Message } from '@concierge/sdk';
import { acrossStores } from '@concierge/tests/harness';
import { startFixture, take, until, type Fixture } from './lib/fixture.js';

/** Faults injected by a real TCP proxy between the SDK and the real server. */
acrossStores((store) => {
  describe(`SDK under network faults (${store.name})`, () => {
    let f: Fixture;
    before(async () => {
      // Heartbeats every 0.5 s, so a silent stream is noticed in 1.5 s: short for the test, yet long enough that
      // a loaded machine's stalls do not pass for silence (only the test that sets `heartbeatMs` watches them).
      f = await startFixture(store, ['--heartbeat', '0.5']);
    });
    after(async () => {
      await f.close();
    });

    test('a send retried through every fault posts exactly once', async () => {
      // The stalled attempt must time out, and no other: 3 s is far above a normal answer on a busy machine.
      const client = await f.member('retry-all', { maxRetries: 6, timeoutMs: 3000 });
      const { id } = await client.openConversation();
      const route = `/v1/conversations/${id}/messages`;
      const post = (_m: string, p: string) => _m === 'POST' && p.includes(route);
      f.proxy.inject(post, { kind: 'respond', status: 503, headers: { 'retry-after': '0' } });
      f.proxy.inject(post, { kind: 'drop' }); // the server posts; the answer is lost
      f.proxy.inject(post, { kind: 'reset' });
      f.proxy.inject(post, { kind: 'drop', afterBytes: 40 }); // cut in the middle of the answer's head
      f.proxy.inject(post, { kind: 'stall' }); // answer never comes: the attempt times out
      f.proxy.inject(post, { kind: 'respond', status: 429, headers: { 'retry-after': '0.05' } });
      const result = await client.sendMessage({ conversationID: id, message: 'exactly once' });
      assert.equal(result.replayed, true);
      const attempts = f.proxy.seen('POST', route);
      assert.equal(attempts.length, 7);
      const keys = new Set(attempts.map((r) => r.headers['idempotency-key']));
      assert.equal(keys.size, 1, 'one Idempotency-Key for every attempt');
      assert.match([...keys][0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const token = (await f.token('retry-all')).accessToken;
      const page = await f.api.get(`/v1/conversations/${id}/messages`, { token });
      assert.equal(page.json.messages.filter((m: Message) => m.body === 'exactly once').length, 1);
    });

    test('retries stop at maxRetries; the last answer is the error', async () => {
      const client = await f.member('retry-limit', { maxRetries: 2 });
      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 503, headers: { 'retry-after': '0' } }, 3);
      await assert.rejects(client.listConversations(), ServerError);
      assert.equal(f.proxy.seen('GET', '/v1/conversations').length, 3);

      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 429, headers: { 'retry-after': '1000' } });
      await assert.rejects(client.listConversations({}, { maxRetries: 0 }), (e: unknown) => {
        assert.ok(e instanceof RateLimitError);
        assert.equal(e.retryAfterMs, 300_000, 'Retry-After is clamped to 300 s');
        return true;
      });
      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 429, headers: { 'retry-after': '1.5' } });
      await assert.rejects(client.listConversations({}, { maxRetries: 0 }), (e: unknown) => {
        assert.ok(e instanceof RateLimitError);
        assert.equal(e.retryAfterMs, 1500, 'fractional seconds are seconds, not a date');
        return true;
      });
      const date = new Date(Date.now() + 3_600_000).toUTCString();
      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 429, headers: { 'retry-after': date } });
      await assert.rejects(client.listConversations({}, { maxRetries: 0 }), (e: unknown) => {
        assert.ok(e instanceof RateLimitError);
        assert.equal(e.retryAfterMs, 300_000, 'an HTTP-date an hour away is clamped too');
        return true;
      });
    });

    test('x-should-retry: false is obeyed, and true retries a status that would not be', async () => {
      const client = await f.member('should-retry');
      const before = f.proxy.seen('GET', '/v1/conversations').length;
      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 503, headers: { 'x-should-retry': 'false' } });
      await assert.rejects(client.listConversations(), ServerError);
      assert.equal(f.proxy.seen('GET', '/v1/conversations').length - before, 1);
      f.proxy.inject('/v1/conversations', { kind: 'respond', status: 400, headers: { 'x-should-retry': 'true' } });
      assert.equal((await client.listConversations()).conversations.length, 0);
      assert.equal(f.proxy.seen('GET', '/v1/conversations').length - before, 3);
    });

    test('an unreachable server is a NetworkError, a hung one a TimeoutError, after the retries', async () => {
      const client = await f.member('net', { maxRetries: 1, timeoutMs: 300 });
      f.proxy.inject('/v1/conversations', { kind: 'reset' }, 2);
      await assert.rejects(client.listConversations(), NetworkError);
      f.proxy.inject('/v1/conversations', { kind: 'stall' }, 2);
      await assert.rejects(client.listConversations(), TimeoutError);
      f.proxy.cut('/v1/conversations');
      f.proxy.clear();
    });

    test('an AbortSignal stops a call, including its wait between retries', async () => {
      const client = await f.member('abort');
      // Earlier tests refused this route too: wait for a refusal of this call, and match this route alone, so that
      // an abort before the first attempt can neither pass unnoticed nor leave a 300 s refusal for another route.
      const refused = () => f.proxy.seen('GET', '/v1/conversations').filter((r) => r.fault === 'respond').length;
      const before = refused();
      f.proxy.inject((m, p) => m === 'GET' && p.split('?')[0] === '/v1/conversations', {
        kind: 'respond',
        status: 503,
        headers: { 'retry-after': '300' },
      });
      const controller = new AbortController();
      const call = client.listConversations({}, { signal: controller.signal });
      await until(() => refused() > before, 'the first attempt, refused with Retry-After: 300');
      controller.abort();
      await assert.rejects(call, AbortError);
    });

    test('a stream cut 50 times while messages flow yields each message exactly once, in order', async () => {
      const client = await f.member('cuts');
      const { id } = await client.openConversation();
      const route = `/v1/conversations/${id}/stream`;
      const received: Message[] = [];
      let sent = 0;
      let producing = true;
      const stream = client.streamMessages({ conversationID: id });
      const consumer = (async () => {
        for await (const m of stream) received.push(m);
      })();
      await until(() => f.proxy.open(route) === 1, 'the stream to connect');
      const producer = (async () => {
        while (producing || sent < 150) {
          await f.admin.sendMessage(id, `m${sent}`);
          sent++;
          // Pacing so the cuts land among the sends; the assertions hold for any interleaving.
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      let cuts = 0;
      while (cuts < 50) {
        // Cut a connection that is up and has delivered a message itself: messages are flowing through it.
        await until(() => f.proxy.delivering(route) === 1, 'the stream to deliver again');
        // A random moment to cut at, not a wait for anything: cuts land at varied points of the stream.
        await new Promise((r) => setTimeout(r, Math.random() * 10));
        cuts += f.proxy.cut(route);
      }
      producing = false;
      await producer;
      // And a few after the last cut: the stream must have come back to deliver them.
      for (let i = 0; i < 3; i++) await f.admin.sendMessage(id, `m${sent++}`);
      await until(() => received.length >= sent, `every message (${received.length} of ${sent})`);
      stream.close();
      await consumer;
      assert.equal(cuts, 50);
      assert.ok(f.proxy.seen('GET', route).length >= 51, `${f.proxy.seen('GET', route).length} connections`);
      assert.equal(new Set(received.map((m) => m.id)).size, received.length, 'no message twice');
      assert.ok(sent >= 150);
      assert.deepEqual(
        received.map((m) => m.body),
        Array.from({ length: sent }, (_, i) => `m${i}`),
      );
    });

    test('a stream that drops before its first event still misses nothing', async () => {
      const client = await f.member('early-drop');
      const { id } = await client.openConversation();
      await client.sendMessage(id, 'history');
      const route = `/v1/conversations/${id}/stream`;
      const got = take(client.streamMessages({ conversationID: id }), 3);
      await until(() => f.proxy.seen('GET', `/v1/conversations/${id}/messages`).some((r) => r.done), 'the anchor page');
      // Down: the next connection is refused twice while three messages are sent.
      f.proxy.inject(route, { kind: 'respond', status: 503, headers: { 'retry-after': '0.1' } }, 2);
      f.proxy.cut(route);
      for (const body of ['a', 'b', 'c']) await f.admin.sendMessage(id, body);
      assert.deepEqual(
        (await got).map((m) => m.body),
        ['a', 'b', 'c'],
      );
    });

    test('stream() started live resumes from its first byte after a drop before any event', async () => {
      const client = await f.member('early-global');
      const { id } = await client.openConversation();
      const events = client.stream();
      const got = take(
        (async function* () {
          for await (const e of events) if (e.type === 'message') yield e;
        })(),
        2,
      ).finally(() => events.close());
      // The server's id-only start frame sets the resume point; once the client holds it, go down for a while.
      await until(() => events.lastEventID !== null, 'the start frame’s resume point');
      f.proxy.inject('/v1/stream', { kind: 'respond', status: 503, headers: { 'retry-after': '0.3' } }, 1);
      f.proxy.cut('/v1/stream');
      await f.admin.sendMessage(id, 'while away 1');
      await f.admin.sendMessage(id, 'while away 2');
      const messages = await got;
      assert.deepEqual(
        messages.map((e) => (e.type === 'message' ? e.data.message.body : null)),
        ['while away 1', 'while away 2'],
      );
    });

    test('a silent stream (no heartbeat for three periods) is taken as dropped and resumed', async () => {
      // Idle detection is what is tested: three of the server's 0.5 s heartbeats without a byte.
      const client = await f.member('idle', { heartbeatMs: 500 });
      const { id } = await client.openConversation();
      const route = `/v1/conversations/${id}/stream`;
      const got = take(client.streamMessages({ conversationID: id }), 2);
      // Silence only a stream the client is reading: before its head arrives, the client is still waiting for an
      // answer (the 30 s request timeout), not watching heartbeats. Silencing that early made this test fail on
      // a loaded machine.
      await until(() => f.proxy.streaming(route) === 1, 'the stream to be read');
      // The link goes silent: the server's heartbeats and messages no longer pass, the connection stays open.
      assert.equal(f.proxy.silence(route), 1);
      await f.admin.sendMessage(id, 'while silent');
      await until(() => f.proxy.seen('GET', route).length >= 2, 'a reconnect after the idle period');
      await f.admin.sendMessage(id, 'after');
      assert.deepEqual(
        (await got).map((m) => m.body),
        ['while silent', 'after'],
      );
      f.proxy.cut(route);
    });
  });
});

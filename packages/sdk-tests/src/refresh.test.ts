import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Concierge, RefreshError, UnauthorizedError, type ExchangeResponse } from '@concierge/sdk';
import { acrossStores, clockPast } from '@concierge/tests/harness';
import { startFixture, take, until, type Fixture } from './lib/fixture.js';

/**
 * A fetch for the SDK that counts the 401 answers it hands over, their bodies already read: once the count is
 * reached, the SDK has acted on every one of them within the same turn of the event loop (its continuations are
 * promise callbacks only), so a refresh hook can wait on it instead of on the clock.
 */
function counting401s() {
  const seen = { unauthorized: 0 };
  const fetchFn: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (res.status !== 401) return res;
    const body = await res.text();
    const copy = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(copy, 'text', { value: () => Promise.resolve(body) });
    seen.unauthorized++;
    return copy;
  };
  return { seen, fetch: fetchFn };
}

/** The refresh contract, against a server whose member tokens live three seconds. */
acrossStores((store) => {
  describe(`SDK token refresh (${store.name})`, () => {
    let f: Fixture;
    before(async () => {
      // Token lifetimes are what these tests are about: short, yet long enough for a call made before the
      // refresh window to be made before it on a busy machine.
      f = await startFixture(store, ['--token-ttl', '3']);
    });
    after(async () => {
      await f.close();
    });

    /** A token that has already expired (waits out its lifetime, which is what is being tested). */
    async function expiredToken(externalUserID: string): Promise<string> {
      const t = await f.token(externalUserID);
      await clockPast(Date.parse(t.expiresAt) + 50);
      return t.accessToken;
    }

    /** A refresh hook that counts its calls; with `holdUntil`, it stays in flight until that holds. */
    function countingHook(externalUserID: string, holdUntil?: () => boolean) {
      const hook = async (): Promise<ExchangeResponse> => {
        hook.calls++;
        if (holdUntil !== undefined) await until(holdUntil, 'the other callers’ 401s');
        return f.token(externalUserID);
      };
      hook.calls = 0;
      return hook;
    }

    test('20 concurrent calls with an expired token cause exactly one refresh', async () => {
      const token = await expiredToken('many');
      const counted = counting401s();
      // In flight until all twenty 401s have reached the SDK, so each of them meets this one refresh.
      const hook = countingHook('many', () => counted.seen.unauthorized >= 20);
      // No `tokenExpiresAt`: the SDK learns of the expiry from the server's 401s, all twenty of them.
      const client = new Concierge({ baseURL: f.proxy.url, token, refreshToken: hook, fetch: counted.fetch });
      const before = f.proxy.seen('GET', '/v1/conversations').length;
      const results = await Promise.all(Array.from({ length: 20 }, () => client.listConversations()));
      assert.equal(results.length, 20);
      assert.equal(hook.calls, 1);
      const sent = f.proxy.seen('GET', '/v1/conversations').slice(before);
      assert.equal(sent.filter((r) => r.headers.authorization === `Bearer ${token}`).length, 20);
      assert.equal(sent.length, 40, 'each call: one 401, one retry');
    });

    test('a token near its expiry is refreshed before the call, not after a 401', async () => {
      const t = await f.token('early');
      const hook = countingHook('early');
      const client = new Concierge({
        baseURL: f.proxy.url,
        token: t.accessToken,
        tokenExpiresAt: t.expiresAt,
        refreshSkewMs: 1000,
        refreshToken: hook,
      });
      await client.listConversations();
      assert.equal(hook.calls, 0, 'not due yet');
      await clockPast(Date.parse(t.expiresAt) - 1000);
      const before = f.proxy.seen('GET', '/v1/conversations').length;
      await client.listConversations();
      assert.equal(hook.calls, 1);
      const sent = f.proxy.seen('GET', '/v1/conversations').slice(before);
      assert.equal(sent.length, 1);
      assert.notEqual(sent[0]!.headers.authorization, `Bearer ${t.accessToken}`);
    });

    test('a refresh hook that throws ends in RefreshError, once, with its error as the cause', async () => {
      const token = await expiredToken('broken');
      const failure = new Error('the backend is down');
      const counted = counting401s();
      let calls = 0;
      const client = new Concierge({
        baseURL: f.proxy.url,
        token,
        fetch: counted.fetch,
        refreshToken: async () => {
          calls++;
          // In flight until all five 401s have reached the SDK, so each of them meets this one refresh.
          await until(() => counted.seen.unauthorized >= 5, 'the other callers’ 401s');
          throw failure;
        },
      });
      const before = f.proxy.seen('GET', '/v1/conversations').length;
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.listConversations()));
      assert.equal(calls, 1, 'one refresh for all five, never retried');
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected');
        if (o.status === 'rejected') {
          assert.ok(o.reason instanceof RefreshError);
          assert.equal(o.reason.cause, failure);
        }
      }
      assert.equal(f.proxy.seen('GET', '/v1/conversations').length - before, 5, 'no re-send after a failed refresh');
    });

    test('without a refresh hook an expired token is an UnauthorizedError TOKEN_EXPIRED', async () => {
      const client = new Concierge({ baseURL: f.proxy.url, token: await expiredToken('nohook') });
      await assert.rejects(
        client.listConversations(),
        (e: unknown) => e instanceof UnauthorizedError && e.code === 'TOKEN_EXPIRED',
      );
    });

    test('a stream outlives its token: it refreshes, reconnects and resumes without a gap', async () => {
      const t = await f.token('streamer');
      const hook = countingHook('streamer');
      const client = new Concierge({
        baseURL: f.proxy.url,
        token: t.accessToken,
        tokenExpiresAt: t.expiresAt,
        refreshSkewMs: 500,
        refreshToken: hook,
      });
      const { id } = await client.openConversation();
      const route = `/v1/conversations/${id}/stream`;
      const got = take(client.streamMessages({ conversationID: id }), 6);
      await until(() => f.proxy.open(route) === 1, 'the stream to connect');
      const connections = f.proxy.seen('GET', route).length;
      for (let i = 0; i < 3; i++) await f.admin.sendMessage(id, `before ${i}`);
      // The server ends the stream when the token lapses; messages sent meanwhile must still arrive.
      await until(() => f.proxy.seen('GET', route).length > connections, 'a reconnect after the token lapsed');
      for (let i = 0; i < 3; i++) await f.admin.sendMessage(id, `after ${i}`);
      assert.deepEqual(
        (await got).map((m) => m.body),
        ['before 0', 'before 1', 'before 2', 'after 0', 'after 1', 'after 2'],
      );
      assert.ok(hook.calls >= 1);
    });
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  acrossStores,
  Api,
  clockPast,
  RawStream,
  Receiver,
  STORES,
  TestServer,
  until,
  withServer,
} from './harness/index.js';
import { createEndpoint, FAST, PERMISSIVE, verify } from './webhook-fixtures.js';

/**
 * What becomes of webhook deliveries over time: across a crash and a graceful stop, when their member is erased,
 * when an endpoint fails for too long, and past the retention.
 */

acrossStores((store) => {
  describe(`webhooks survive a SIGKILL right after acknowledged sends [${store.name}]`, () => {
    test('every acknowledged message is delivered after the restart', async () => {
      const receiver = await Receiver.start();
      // Nothing is answered until the kill: every delivery is still in the outbox (or in flight) when it dies.
      const hold = receiver.holdUnanswered();
      const { server, close } = await withServer(store, { args: [...PERMISSIVE, ...FAST], process: true });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const token = await api.memberToken(key, 'durable');
        const conv = await api.openConversation(token);
        const sent = await Promise.all(
          Array.from({ length: 40 }, (_, i) => api.send(token, conv, `d${i}`, { 'idempotency-key': randomUUID() })),
        );
        assert.ok(sent.every((r) => r.status === 200));
        await server.kill();
        hold.release();
        await server.restart();
        const want = new Set(sent.map((r) => r.json.message.id as string));
        const got = () => new Set(receiver.events().map((e) => e.data.message.id as string));
        await receiver.until(() => [...want].every((id) => got().has(id)), 'every acknowledged message delivered');
      } finally {
        await close();
        await receiver.close();
      }
    });
  });

  describe(`webhooks survive a SIGKILL mid-range [${store.name}]`, () => {
    test('what was recorded before the kill is not sent again; what was in flight is, with the same webhook-id', async () => {
      const receiver = await Receiver.start();
      // Two of the ten are held unanswered until the server is killed; the others are answered, so they are
      // recorded while an older one is still in flight: past the endpoint's cursor, which cannot pass k0.
      const inFlight = new Set(['k0', 'k5']);
      const hold = receiver.holdUnanswered((r) => inFlight.has(JSON.parse(r.body).data.message.body as string));
      const { server, close } = await withServer(store, { args: [...PERMISSIVE, ...FAST], process: true });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const token = await api.memberToken(key, 'mid-range');
        const conv = await api.openConversation(token);
        for (let i = 0; i < 10; i++) await api.send(token, conv, `k${i}`);
        // A restarted server listens on a new port: the client is made for whichever is running.
        const delivered = async () =>
          (
            await new Api(server.url).get(`/v1/webhooks/${endpoint.id}/deliveries`, {
              token: key,
              query: { limit: '100' },
            })
          ).json.data.filter((d: { status: string }) => d.status === 'delivered') as Array<{ id: string }>;
        await until(async () => (await delivered()).length === 8, 'the eight answered recorded');
        await receiver.until(() => receiver.received.length >= 10, 'the two held in flight');
        await server.kill();
        hold.release();
        await server.restart();
        await until(async () => (await delivered()).length === 10, 'all ten recorded');
        const ids = new Map<string, string[]>();
        for (const r of receiver.received) {
          const text = JSON.parse(r.body).data.message.body as string;
          ids.set(text, [...(ids.get(text) ?? []), String(r.headers['webhook-id'])]);
        }
        for (let i = 0; i < 10; i++) {
          const sent = ids.get(`k${i}`) ?? [];
          // Recorded before the kill: once. In flight at the kill: again after it, with the same webhook-id.
          assert.equal(sent.length, inFlight.has(`k${i}`) ? 2 : 1, `k${i}: ${sent.join(', ')}`);
          assert.equal(new Set(sent).size, 1, `k${i} kept its webhook-id`);
        }
        assert.equal(new Set((await delivered()).map((d) => d.id)).size, 10);
      } finally {
        await close();
        await receiver.close();
      }
    });
  });

  describe(`erasing a member [${store.name}]`, () => {
    test('queued deliveries about the member are erased with them; member.deleted still arrives', async () => {
      const receiver = await Receiver.start();
      await receiver.down();
      // Retries every quarter second for ten seconds, so the deliveries are still queued when the member goes.
      const schedule = ['0', ...Array.from({ length: 40 }, () => '0.25')].join(',');
      const args = [...PERMISSIVE, '--webhook-retry-schedule', schedule, '--webhook-poll', '0.1'];
      const { server, close } = await withServer(store, { args });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const endpoint = await createEndpoint(api, key, receiver.url);
        const deliveries = async () =>
          (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data as Array<{
            id: string;
            eventType: string;
            status: string;
            attempts: number;
          }>;
        // Another member's events are not theirs: they stay queued and arrive.
        const other = await api.memberToken(key, 'stays');
        const otherConv = await api.openConversation(other);
        await api.send(other, otherConv, 'still here');
        const token = await api.memberToken(key, 'erased');
        const conv = await api.openConversation(token);
        for (const body of ['my address is 1 Secret Lane', 'call me on 555-0100'])
          assert.equal((await api.send(token, conv, body)).status, 200);
        await until(async () => {
          const all = await deliveries();
          return all.length >= 5 && all.every((d) => d.attempts >= 1);
        }, 'every delivery tried once against the receiver that is down');
        assert.equal((await api.post('/v1/members/erased/erase', { token: key })).status, 200);
        // member.deleted is in the outbox with the erasure; it is listed once the deliverer has claimed it.
        let left: Awaited<ReturnType<typeof deliveries>> = [];
        await until(async () => {
          left = await deliveries();
          return left.some((d) => d.eventType === 'member.deleted');
        }, 'member.deleted claimed');
        assert.deepEqual(left.map((d) => d.eventType).sort(), [
          'conversation.created',
          'conversation.message_created',
          'conversation.updated',
          'member.deleted',
        ]);
        await receiver.up();
        await receiver.until(
          () => receiver.events().some((e) => e.type === 'member.deleted'),
          'member.deleted delivered once the receiver is up',
        );
        await until(async () => (await deliveries()).every((d) => d.status === 'delivered'), 'nothing left to deliver');
        const events = receiver.events();
        const deleted = events.find((e) => e.type === 'member.deleted')!;
        assert.equal(deleted.data.externalUserID, 'erased');
        verify(endpoint.signingSecret, receiver.received[events.indexOf(deleted)]!);
        assert.ok(
          events.every(
            (e) =>
              e.type === 'member.deleted' ||
              e.data.conversationID === otherConv ||
              e.data.conversation?.id === otherConv,
          ),
          JSON.stringify(events),
        );
        assert.ok(!receiver.received.some((r) => r.body.includes('Secret Lane') || r.body.includes('555-0100')));
        // Nothing of theirs is left to replay either.
        const replay = await api.post(`/v1/webhooks/${endpoint.id}/replay`, {
          token: key,
          body: { since: new Date(0).toISOString() },
        });
        assert.equal(replay.json.count, left.length);
      } finally {
        await close();
        await receiver.close();
      }
    });
  });

  describe(`webhook endpoints failing for too long [${store.name}]`, () => {
    test('are disabled with reason failing, announced on the org stream', async () => {
      const receiver = await Receiver.start();
      receiver.behaviour = () => ({ status: 500 });
      // "5 days" shortened to 0.3 s: the third attempt (0.4 s after the first) finds the run long enough.
      const args = [...PERMISSIVE, ...FAST, '--webhook-disable-after', '0.3'];
      const { server, close } = await withServer(store, { args });
      const stream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${server.org.apiKey}` });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        await stream.until(() => stream.retry !== undefined);
        const endpoint = await createEndpoint(api, key, receiver.url, ['*']);
        await api.post(`/v1/webhooks/${endpoint.id}/test`, { token: key });
        await stream.until(() => stream.events.some((e) => e.event === 'webhook.disabled'));
        const data = JSON.parse(stream.events.find((e) => e.event === 'webhook.disabled')!.data);
        assert.equal(data.endpointID, endpoint.id);
        assert.equal(data.reason, 'failing');
        const got = (await api.get(`/v1/webhooks/${endpoint.id}`, { token: key })).json;
        assert.equal(got.disabledReason, 'failing');
        assert.ok(receiver.received.length >= 2);
      } finally {
        stream.close();
        await close();
        await receiver.close();
      }
    });
  });

  describe(`webhook retention [${store.name}]`, () => {
    test('finished deliveries past --webhook-retention are deleted; pending ones stay', async () => {
      const ok = await Receiver.start();
      const failing = await Receiver.start();
      failing.behaviour = () => ({ status: 500 });
      // A retention of 1.728 s, so that a restart (retention runs at start, then hourly) finds the deliveries past
      // it; the failing endpoint's delivery waits an hour for its retry, pending.
      const args = [...PERMISSIVE, '--webhook-poll', '0.1', '--webhook-retry-schedule', '0,3600'];
      const { server, close } = await withServer(store, { args: [...args, '--webhook-retention', '0.00002'] });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const done = await createEndpoint(api, key, ok.url, ['conversation.message_created']);
        const waiting = await createEndpoint(api, key, failing.url, ['conversation.message_created']);
        const c = await api.openConversation(await api.memberToken(key, 'retention'));
        await api.post(`/v1/conversations/${c}/messages`, { token: key, body: { message: 'kept a while' } });
        const first = async (id: string) =>
          (await new Api(server.url).get(`/v1/webhooks/${id}/deliveries`, { token: key })).json.data[0];
        await until(async () => (await first(done.id))?.status === 'delivered', 'the delivery recorded');
        await until(async () => (await first(waiting.id))?.attempts === 1, 'the failed attempt recorded');
        await clockPast(Date.parse((await first(done.id)).createdAt) + 1728);
        await server.restart();
        await until(async () => (await first(done.id)) === undefined, 'the finished delivery purged');
        const pending = await first(waiting.id);
        assert.equal(pending.status, 'pending');
      } finally {
        await close();
        await ok.close();
        await failing.close();
      }
    });
  });
});

const sqlite = STORES.find((s) => s.name === 'sqlite');
if (sqlite !== undefined)
  describe('webhooks: stopping [sqlite]', () => {
    test('a graceful stop gives up the leases of queued deliveries, and the next start sends them all', async () => {
      const db = await sqlite.fresh();
      const receiver = await Receiver.start();
      // Slow enough that a fast endpoint's queue fills behind its slots, quick enough to count as fast.
      receiver.behaviour = (_r, res) => {
        setTimeout(() => res.writeHead(200).end('ok'), 100);
        return 'handled';
      };
      const server = await TestServer.start(db.url, { args: PERMISSIVE });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const token = await api.memberToken(key, 'queued');
        const conv = await api.openConversation(token);
        const sent: string[] = [];
        for (let i = 0; i < 150; i++) sent.push((await api.send(token, conv, `q${i}`)).json.message.id as string);
        await receiver.until(() => receiver.received.length >= 20, 'the endpoint is fast');
        assert.equal(await server.stop(), 0);
        // No pending delivery is left leased: queued ones were given up, those in flight recorded as attempts.
        const raw = new Database(db.url.slice('sqlite:'.length), { readonly: true });
        try {
          const rows = raw
            .prepare(`SELECT count(*) AS leased FROM webhook_deliveries WHERE lease_owner IS NOT NULL`)
            .get() as { leased: number };
          assert.equal(rows.leased, 0);
        } finally {
          raw.close();
        }
        receiver.behaviour = () => ({ status: 200 });
        await server.restart();
        const ids = () => new Set(receiver.events().map((e) => e.data.message.id as string));
        await receiver.until(() => sent.every((id) => ids().has(id)), 'every message delivered after the restart');
      } finally {
        await server.stop();
        await receiver.close();
        await db.drop();
      }
    });
  });

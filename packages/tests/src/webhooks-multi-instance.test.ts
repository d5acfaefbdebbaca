import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Api, Receiver, STORES, TestServer, until } from './harness/index.js';

/**
 * Several instances on one PostgreSQL database share one outbox: leases taken with FOR UPDATE SKIP LOCKED send
 * each attempt once between them, and a SIGKILLed instance's leased deliveries are taken over once its lease runs
 * out. SQLite is a single-instance store, so these run only on PostgreSQL.
 */
const NETWORKED = STORES.filter((s) => s.name === 'postgres');
if (NETWORKED.length === 0)
  test('webhooks on several instances: needs PostgreSQL (CONCIERGE_TEST_PG_URL)', { skip: true }, () => {});

const ARGS = [
  '--webhooks-allow-http',
  '--webhooks-allow-private',
  '--rate-limit',
  '0',
  '--webhook-retry-schedule',
  '0,0.2,0.2,0.2,0.2,0.2',
  '--webhook-poll',
  '0.1',
  '--webhook-timeout',
  '2',
  '--webhook-lease',
  '3',
];

for (const store of NETWORKED) {
  describe(`webhooks on several instances [${store.name}]`, () => {
    let db: { url: string; drop(): Promise<void> };
    let servers: TestServer[];
    let key: string;

    before(async () => {
      db = await store.fresh();
      const first = await TestServer.start(db.url, { args: ARGS, process: true });
      servers = [
        first,
        ...(await Promise.all([1, 2].map(() => TestServer.start(db.url, { args: ARGS, process: true })))),
      ];
      key = first.org.apiKey;
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await db.drop();
    });

    /** Sends `n` messages round-robin through the live instances; the acknowledged message ids. */
    async function sendThrough(live: TestServer[], n: number, tag: string): Promise<string[]> {
      const apis = live.map((s) => new Api(s.url));
      const token = await apis[0]!.memberToken(key, `member-${tag}`);
      const conv = await apis[0]!.openConversation(token);
      const sent = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          apis[i % apis.length]!.send(token, conv, `${tag}-${i}`, { 'idempotency-key': randomUUID() }),
        ),
      );
      assert.ok(sent.every((r) => r.status === 200));
      return sent.map((r) => r.json.message.id as string);
    }

    test('three instances send each delivery once between them', async () => {
      const receiver = await Receiver.start();
      try {
        const api = new Api(servers[0]!.url);
        const created = await api.post('/v1/webhooks', {
          token: key,
          body: { url: receiver.url, events: ['conversation.message_created'] },
        });
        const ids = await sendThrough(servers, 60, 'once');
        await receiver.until(() => receiver.received.length >= 60, 'sixty deliveries');
        // Barrier: every delivery recorded as delivered, so no attempt is still on its way.
        await until(async () => {
          const page = (
            await api.get(`/v1/webhooks/${created.json.id}/deliveries`, { token: key, query: { limit: '100' } })
          ).json;
          return page.data.length === 60 && page.data.every((d: { status: string }) => d.status === 'delivered');
        }, 'all sixty recorded');
        assert.equal(receiver.received.length, 60);
        assert.deepEqual(new Set(receiver.events().map((e) => e.data.message.id)), new Set(ids));
        assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 60);
        await api.delete(`/v1/webhooks/${created.json.id}`, { token: key });
      } finally {
        await receiver.close();
      }
    });

    test("a SIGKILLed instance's leased deliveries are delivered by the others; duplicates share webhook-id", async () => {
      const receiver = await Receiver.start();
      // Hold every request until the kill, so the victim dies holding leases on deliveries it never finished.
      const hold = receiver.holdUnanswered();
      try {
        const api = new Api(servers[0]!.url);
        await api.post('/v1/webhooks', {
          token: key,
          body: { url: receiver.url, events: ['conversation.message_created'] },
        });
        const ids = await sendThrough(servers, 30, 'kill');
        // Each instance holds up to its four slots for this endpoint; wait until the victim's share has arrived too.
        await receiver.until(() => receiver.received.length >= 8, 'attempts in flight on several instances');
        await servers[1]!.kill();
        hold.release();
        const got = () => new Map(receiver.events().map((e, i) => [e.data.message.id as string, i]));
        await receiver.until(() => ids.every((id) => got().has(id)), 'every message delivered at least once');
        const idsByMessage = new Map<string, Set<string>>();
        for (const r of receiver.received) {
          const m = JSON.parse(r.body).data.message.id as string;
          idsByMessage.set(m, (idsByMessage.get(m) ?? new Set()).add(String(r.headers['webhook-id'])));
        }
        for (const [m, webhookIDs] of idsByMessage) assert.equal(webhookIDs.size, 1, `message ${m}`);
      } finally {
        servers[1] = await TestServer.start(db.url, { args: ARGS, process: true });
        await receiver.close();
      }
    });
  });
}

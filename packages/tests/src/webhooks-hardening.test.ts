import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Api, errorCode, Receiver, STORES, TestServer, until, withServer, type StoreTarget } from './harness/index.js';

/**
 * What the webhook sender does when something fails on its side (an address refused at connect time, one delivery
 * that throws, the sender thread dying), and which addresses it refuses, through the real CLI server.
 */
const PERMISSIVE = ['--webhooks-allow-http', '--webhooks-allow-private', '--rate-limit', '0'];
const FAST = ['--webhook-poll', '0.1', '--webhook-timeout', '2', '--webhook-lease', '4'];

interface Delivery {
  id: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

async function createEndpoint(api: Api, key: string, url: string, events: string[] = ['*']) {
  const r = await api.post('/v1/webhooks', { token: key, body: { url, events } });
  assert.equal(r.status, 201, r.text);
  return r.json as { id: string; url: string };
}

async function deliveries(api: Api, key: string, endpointID: string): Promise<Delivery[]> {
  const r = await api.get(`/v1/webhooks/${endpointID}/deliveries`, { token: key });
  assert.equal(r.status, 200, r.text);
  return r.json.data as Delivery[];
}

/** The server's log lines (JSON, on stdout) with this message. */
function logged(server: TestServer, msg: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of server.stdout.split('\n'))
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === msg) lines.push(parsed);
    } catch {
      // The banner, or a line still being written.
    }
  return lines;
}

/** Runs one statement on the server's database, as an operator's tool (or a damaged disk) would change it. */
async function execute(store: StoreTarget, databaseURL: string, sql: string, params: unknown[]): Promise<void> {
  if (store.name === 'sqlite') {
    const db = new Database(databaseURL.slice('sqlite:'.length));
    try {
      db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: databaseURL });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** IPv6 forms that carry a refused IPv4 address, and special-purpose blocks, that an old check let through. */
const REFUSED_URLS = [
  'https://[::127.0.0.1]/hook', // IPv4-compatible (the URL parser writes it ::7f00:1)
  'https://[::ffff:0:7f00:1]/hook', // IPv4-translated
  'https://[2002:7f00:1::]/hook', // 6to4 through 127.0.0.1
  'https://[2002:a9fe:a9fe::1]/hook', // 6to4 through the metadata address
  'https://[2001:0:7f00:1::]/hook', // Teredo, server 127.0.0.1
  'https://[2001:0:808:808::80ff:fffe]/hook', // Teredo, client 127.0.0.1 (XOR-ed)
  'https://[64:ff9b::a9fe:a9fe]/hook', // NAT64 of 169.254.169.254
  'https://[64:ff9b:1::a00:1]/hook', // local-use NAT64
  'https://[2001:2::1]/hook', // benchmarking
  'https://[2001::1]/hook', // IETF protocol assignments
  'https://[3fff::1]/hook', // documentation
  'https://[5f00::1]/hook', // segment routing
  'https://[fec0::1]/hook', // site-local
  'https://[100::1]/hook', // discard-only
  'https://[4000::1]/hook', // outside global unicast
  'https://192.88.99.1/hook', // the deprecated 6to4 relay anycast
  'https://255.255.255.255/hook', // broadcast
  'https://198.18.0.1/hook', // benchmarking
  'https://240.0.0.1/hook', // reserved
];

for (const store of STORES) {
  describe(`webhook address refusals [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: FAST }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(async () => close());

    test('an endpoint at an IPv6 form that embeds a refused IPv4 address, or at a special-purpose address, is 422 WEBHOOK_URL_REFUSED', async () => {
      for (const url of REFUSED_URLS) {
        const r = await api.post('/v1/webhooks', { token: key, body: { url, events: ['*'] } });
        assert.equal(r.status, 422, `${url}: ${r.text}`);
        assert.equal(errorCode(r), 'WEBHOOK_URL_REFUSED', url);
        assert.equal(r.json.error.field, 'url');
      }
      assert.deepEqual((await api.get('/v1/webhooks', { token: key })).json.data, []);
    });

    test('moving an endpoint to such a URL is refused the same way, and leaves it as it was', async () => {
      const created = await createEndpoint(api, key, 'https://[2606:4700:4700::1111]/hook');
      try {
        for (const url of ['https://[::ffff:0:a00:1]/hook', 'https://[2002:c0a8:1::]/hook']) {
          const r = await api.patch(`/v1/webhooks/${created.id}`, { token: key, body: { url } });
          assert.equal(r.status, 422, `${url}: ${r.text}`);
          assert.equal(errorCode(r), 'WEBHOOK_URL_REFUSED', url);
        }
        const now = await api.get(`/v1/webhooks/${created.id}`, { token: key });
        assert.equal(now.json.url, 'https://[2606:4700:4700::1111]/hook');
      } finally {
        await api.delete(`/v1/webhooks/${created.id}`, { token: key });
      }
    });

    test('public addresses, and a NAT64 or IPv4-mapped form of one, are accepted', async () => {
      for (const url of [
        'https://8.8.8.8/hook',
        'https://[2606:4700:4700::1111]/hook',
        'https://[64:ff9b::808:808]/hook',
        'https://[::ffff:808:808]/hook',
      ]) {
        const r = await api.post('/v1/webhooks', { token: key, body: { url, events: ['*'] } });
        assert.equal(r.status, 201, `${url}: ${r.text}`);
        // Never called: the suite makes no event, and the endpoint is disabled at once.
        await api.delete(`/v1/webhooks/${r.json.id}`, { token: key });
      }
    });
  });

  describe(`webhook sender failures [${store.name}]`, () => {
    test('an endpoint at a literal loopback address, made while private addresses were allowed, fails alone with "address refused" after a restart without it, and is logged', async () => {
      const literal = await Receiver.start();
      const named = await Receiver.start();
      const db = await store.fresh();
      const permissive = await TestServer.start(db.url, { args: [...PERMISSIVE, ...FAST] });
      const key = permissive.org.apiKey;
      let strict: TestServer | null = null;
      try {
        const papi = new Api(permissive.url);
        const a = await createEndpoint(papi, key, literal.url, ['conversation.message_created']);
        const b = await createEndpoint(papi, key, `http://localhost:${named.port}/hook`, [
          'conversation.message_created',
        ]);
        await permissive.stop();
        strict = await TestServer.start(db.url, {
          args: ['--webhooks-allow-http', '--webhook-retry-schedule', '0,3600', ...FAST],
        });
        const api = new Api(strict.url);
        // One message: both endpoints' deliveries are claimed together and go to the sender thread in one batch.
        const token = await api.memberToken(key, 'refused-member');
        assert.equal((await api.send(token, await api.openConversation(token), 'hello')).status, 200);
        let da: Delivery | undefined;
        let db2: Delivery | undefined;
        await until(async () => {
          [da] = await deliveries(api, key, a.id);
          [db2] = await deliveries(api, key, b.id);
          return da?.attempts === 1 && db2?.attempts === 1;
        }, 'both attempts recorded');
        assert.equal(da!.lastStatusCode, null);
        assert.match(da!.lastError ?? '', /^address refused: 127\.0\.0\.1 is a loopback address$/);
        assert.match(db2!.lastError ?? '', /^address refused: localhost resolves to (127\.0\.0\.1|::1): /);
        assert.equal(da!.status, 'pending');
        assert.equal(literal.received.length + named.received.length, 0);
        await until(
          () => logged(strict!, 'webhook delivery refused: its address may not be reached').length >= 2,
          'the refusals logged',
        );
        const lines = logged(strict, 'webhook delivery refused: its address may not be reached');
        assert.ok(lines.some((l) => l.delivery === da!.id && l.endpoint === a.id && l.reason === da!.lastError));
        assert.deepEqual(
          logged(strict, 'webhook sender thread died; its deliveries are retried, a new thread takes the next'),
          [],
        );
      } finally {
        await strict?.stop();
        await permissive.stop();
        await literal.close();
        await named.close();
        await db.drop();
      }
    });

    test('an event whose stored data cannot be rendered fails its own delivery, with the reason, while the other delivery in the same batch is delivered', async () => {
      const damaged = await Receiver.start();
      const healthy = await Receiver.start();
      await damaged.down();
      await healthy.down();
      const { server, close } = await withServer(store, {
        args: [...PERMISSIVE, '--webhook-retry-schedule', '0,3600,3600', ...FAST],
      });
      try {
        let api = new Api(server.url);
        const key = server.org.apiKey;
        const a = await createEndpoint(api, key, damaged.url, ['conversation.message_created']);
        const b = await createEndpoint(api, key, healthy.url, ['conversation.message_created']);
        const token = await api.memberToken(key, 'damaged-member');
        assert.equal((await api.send(token, await api.openConversation(token), 'kept')).status, 200);
        let da: Delivery | undefined;
        let db: Delivery | undefined;
        await until(async () => {
          [da] = await deliveries(api, key, a.id);
          [db] = await deliveries(api, key, b.id);
          return da?.attempts === 1 && db?.attempts === 1;
        }, 'the first attempts recorded (both receivers down)');
        await server.stop();
        // One row's data damaged outside the server; both made due now, so one claim hands both to the thread.
        await execute(
          store,
          server.databaseURL,
          `UPDATE webhook_deliveries SET data = $1, next_attempt_at = 0 WHERE id = $2`,
          ['{"damaged', da!.id],
        );
        await execute(store, server.databaseURL, `UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE id = $1`, [
          db!.id,
        ]);
        await damaged.up();
        await healthy.up();
        await server.restart();
        api = new Api(server.url);
        await until(async () => {
          [da] = await deliveries(api, key, a.id);
          [db] = await deliveries(api, key, b.id);
          return da?.attempts === 2 && db?.attempts === 2;
        }, 'the second attempts recorded');
        assert.equal(db!.status, 'delivered');
        assert.equal(healthy.received.length, 1);
        assert.equal(healthy.events()[0]!.data.message.body, 'kept');
        assert.equal(da!.status, 'pending');
        assert.equal(da!.lastStatusCode, null);
        assert.match(da!.lastError ?? '', /^body not rendered: /);
        assert.equal(damaged.received.length, 0);
        await until(() => logged(server, 'webhook delivery failed in the sender').length > 0, 'the failure logged');
        const [line] = logged(server, 'webhook delivery failed in the sender');
        assert.equal(line!.delivery, da!.id);
        assert.equal(line!.reason, da!.lastError);
        assert.equal(typeof line!.stack, 'string');
      } finally {
        await close();
        await damaged.close();
        await healthy.close();
      }
    });

    test('a sender thread that dies fails the deliveries it held (one in flight among them), is logged and restarted, and every delivery then arrives', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'concierge-sender-crash-'));
      const marker = join(dir, 'crash');
      const receiver = await Receiver.start();
      const held: ServerResponse[] = [];
      // The first request is held unanswered: it is in flight when the thread dies.
      receiver.behaviour = (_r, res) => {
        if (receiver.received.length === 1) {
          held.push(res);
          return 'handled';
        }
        return { status: 200 };
      };
      const { server, close } = await withServer(store, {
        args: [...PERMISSIVE, '--webhook-retry-schedule', '0,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3', ...FAST],
        env: { CONCIERGE_FAULT_SENDER_CRASH: marker },
      });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const token = await api.memberToken(key, 'crash-member');
        const conv = await api.openConversation(token);
        const first = (await api.send(token, conv, 'in flight')).json.message.id as string;
        await receiver.until(() => receiver.received.length === 1, 'the first delivery in flight');
        writeFileSync(marker, '');
        const second = (await api.send(token, conv, 'in the batch that kills the thread')).json.message.id as string;
        const died = 'webhook sender thread died; its deliveries are retried, a new thread takes the next';
        await until(() => logged(server, died).length > 0, 'the thread death logged');
        rmSync(marker);
        const [line] = logged(server, died);
        assert.match(String(line!.reason), /^sender thread failed: sender thread crashed \(injected/);
        assert.ok(Number(line!.deliveries) >= 1);
        held.splice(0).forEach((res) => res.destroy());

        const ids = () => receiver.events().map((e) => e.data.message.id as string);
        await receiver.until(
          () => ids().includes(second) && ids().filter((id) => id === first).length >= 2,
          'both delivered after the restart',
        );
        // The one in flight went again with the same webhook-id: a receiver dedupes it.
        const firstIDs = new Set(
          receiver.received
            .filter((r) => JSON.parse(r.body).data.message.id === first)
            .map((r) => r.headers['webhook-id']),
        );
        assert.equal(firstIDs.size, 1);
        let list: Delivery[] = [];
        await until(async () => {
          list = await deliveries(api, key, endpoint.id);
          return list.length === 2 && list.every((d) => d.status === 'delivered');
        }, 'both deliveries recorded as delivered');
        // Each failed at least once, with the thread's death as its reason, before it was delivered.
        for (const d of list) assert.ok(d.attempts >= 2, JSON.stringify(d));
      } finally {
        await close();
        await receiver.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

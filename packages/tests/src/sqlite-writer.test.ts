import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  Api,
  errorCode,
  RawStream,
  STORES,
  TestServer,
  until,
  withServer,
  writerVariants,
  type CallResult,
} from './harness/index.js';

/**
 * The SQLite writer: writes wait in a bounded queue, so clients that send faster than the disk flushes
 * are refused with 503 rather than grow the server's memory; and a writer thread that dies does not leave its
 * callers hanging.
 */

async function pendingWrites(server: TestServer): Promise<number> {
  const text = await (await fetch(server.metricsURL)).text();
  return Number(/^concierge_store_pending_writes (\d+)$/m.exec(text)?.[1] ?? NaN);
}

async function bodies(api: Api, token: string, conversationID: string): Promise<string[]> {
  const r = await api.get(`/v1/conversations/${conversationID}/messages`, { token, query: { limit: '100' } });
  assert.equal(r.status, 200, r.text);
  return (r.json.messages as Array<{ body: string }>).map((m) => m.body).sort();
}

function assertBusy(r: CallResult, what: string): void {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(errorCode(r), 'UNAVAILABLE', what);
  assert.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
}

const marker = (name: string) => join(mkdtempSync(join(tmpdir(), 'concierge-fault-')), name);

for (const store of STORES.filter((s) => s.name === 'sqlite')) {
  describe(`the SQLite writer [${store.name}]`, () => {
    for (const writer of writerVariants(store))
      test(`back-pressure (${writer.name}): past --sqlite-write-queue a write is refused with 503 and Retry-After, nothing written, the queue never grows`, async () => {
        const db = await store.fresh();
        // Fault injection (wal-flush-fault.ts): while this file exists, flushes do not finish, as on a slow disk.
        const hold = marker('hold-flush');
        const server = await TestServer.start(db.url, {
          args: ['--rate-limit', '0', '--sqlite-write-queue', '4', ...writer.args],
          env: { CONCIERGE_FAULT_WAL_FLUSH_HOLD: hold },
        });
        try {
          const api = new Api(server.url);
          const token = await api.memberToken(server.org.apiKey, 'busy');
          const conv = await api.openConversation(token);
          // The queue holds only this test's writes: whatever the server wrote on its own at start is through.
          await until(async () => (await pendingWrites(server)) === 0, 'no write waiting before the disk is held');

          closeSync(openSync(hold, 'w'));
          const held = Array.from({ length: 4 }, (_, i) =>
            api.send(token, conv, `held ${i}`, { 'idempotency-key': `held-${i}` }),
          );
          await until(async () => (await pendingWrites(server)) === 4, 'four writes waiting for the disk');

          assertBusy(await api.send(token, conv, 'over', { 'idempotency-key': 'over' }), 'the fifth write');
          const flood = await Promise.all(Array.from({ length: 200 }, (_, i) => api.send(token, conv, `flood ${i}`)));
          flood.forEach((r, i) => assertBusy(r, `flood ${i}`));
          assert.equal(await pendingWrites(server), 4, 'the queue held its bound through the flood');
          // Busy is not broken: readiness is about storage failures, and the disk works.
          assert.equal((await api.get('/readyz')).status, 200);

          unlinkSync(hold);
          for (const r of await Promise.all(held)) assert.equal(r.status, 200, r.text);
          // The refused key was never recorded: the same request now runs for the first time.
          const retried = await api.send(token, conv, 'over', { 'idempotency-key': 'over' });
          assert.equal(retried.status, 200, retried.text);
          assert.equal(retried.headers.get('idempotent-replayed'), null);
          assert.deepEqual(await bodies(api, token, conv), ['held 0', 'held 1', 'held 2', 'held 3', 'over']);
          await until(async () => (await pendingWrites(server)) === 0, 'the queue empty again');
        } finally {
          await server.stop();
          await db.drop();
        }
      });

    test('events committed by the writer thread reach a live stream once each, in the order of their seqs', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0', '--sqlite-writer', 'worker'] });
      try {
        const api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'streamer');
        const conv = await api.openConversation(token);
        const stream = await RawStream.open(`${server.url}/v1/conversations/${conv}/stream`, {
          authorization: `Bearer ${token}`,
        });
        // The per-conversation stream: `data:` is the Message; the id-only start frame carries none.
        const messages = () => stream.events.filter((e) => e.data !== '');
        const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => api.send(token, conv, `m${i}`)));
        for (const r of sent) assert.equal(r.status, 200, r.text);
        await stream.until(() => messages().length >= 40, undefined, '40 messages on the stream');
        const ids = messages().map((e) => (JSON.parse(e.data) as { id: string }).id);
        const page = await api.get(`/v1/conversations/${conv}/messages`, { token, query: { limit: '100' } });
        // The page is newest first; the stream must carry exactly those, oldest first.
        const bySeq = (page.json.messages as Array<{ id: string }>).map((m) => m.id).reverse();
        assert.deepEqual(ids, bySeq);
        stream.close();
      } finally {
        await close();
      }
    });

    test('a writer thread that dies fails its writes with 503 at once, and the process exits to restart on the file as it is', async () => {
      const db = await store.fresh();
      // Fault injection (writer-thread.ts): the writer thread throws on the next writes while this file exists.
      const crash = marker('crash-writer');
      const server = await TestServer.start(db.url, {
        args: ['--rate-limit', '0', '--sqlite-writer', 'worker'],
        env: { CONCIERGE_FAULT_WRITER_CRASH: crash },
      });
      try {
        let api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'crash');
        const conv = await api.openConversation(token);
        assert.equal((await api.send(token, conv, 'before')).status, 200);

        closeSync(openSync(crash, 'w'));
        const lost = await api.send(token, conv, 'in flight', { 'idempotency-key': 'in-flight' });
        assert.equal(lost.status, 503, lost.text);
        assert.equal(errorCode(lost), 'UNAVAILABLE');
        assert.equal(await server.exited(), 70, 'the process exited with EX_SOFTWARE');
        assert.match(server.stderr, /fatal: the SQLite writer thread stopped/);

        unlinkSync(crash);
        await server.restart();
        api = new Api(server.url);
        // The client retries with its key: the write happens once, whatever the dead thread had done.
        const retried = await api.send(token, conv, 'in flight', { 'idempotency-key': 'in-flight' });
        assert.equal(retried.status, 200, retried.text);
        assert.deepEqual(await bodies(api, token, conv), ['before', 'in flight']);
      } finally {
        await server.stop();
        await db.drop();
      }
    });
  });
}

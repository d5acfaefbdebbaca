import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore, StorageUnavailable } from '@concierge/store';
import { Api, errorCode, until, STORES, TestServer, writerVariants, type CallResult } from './harness/index.js';

/**
 * Storage failures are conditions outside the code's control: they answer 503 UNAVAILABLE with Retry-After,
 * never 500 INTERNAL, /readyz turns 503 while writes fail and 200 again when they succeed, and nothing that was
 * acknowledged is lost.
 */

function assertUnavailable(r: CallResult, what: string): void {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(errorCode(r), 'UNAVAILABLE', what);
  assert.equal(r.json.error.retryable, true, what);
  assert.match(r.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`);
}

/** Mounts a small tmpfs (we run as root in CI and in the dev container); null where mounting is not allowed. */
function mountTmpfs(sizeMB: number): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'concierge-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMB}m,mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

/** Writes until the file system is full; returns the filler's path (delete it to free the space). */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

if (STORES.some((s) => s.name === 'sqlite')) {
  const mounted = mountTmpfs(4);
  describe('a full disk [sqlite]', { skip: mounted === null ? 'cannot mount a tmpfs here' : false }, () => {
    const dir = mounted!;
    let server: TestServer;
    let api: Api;

    before(async () => {
      server = await TestServer.start(`sqlite:${join(dir, 'concierge.db')}`, {
        args: ['--rate-limit', '0'],
        process: true,
      });
      api = new Api(server.url);
    });
    after(async () => {
      await server.stop();
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    });

    test('sends answer 503 UNAVAILABLE with Retry-After, /readyz follows the disk, and nothing acknowledged is lost', async () => {
      const token = await api.memberToken(server.org.apiKey, 'filler');
      const conv = await api.openConversation(token);
      const acknowledged: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await api.send(token, conv, `before ${i}`);
        assert.equal(r.status, 200, r.text);
        acknowledged.push(r.json.message.id as string);
      }
      const filler = fill(dir);
      // The log may still have room from earlier writes: send until the disk says no (each message ~3 KB). A
      // checkpoint between the refusal and the readiness probe can hand the log's start back for reuse, and then the
      // probe's tiny write fits: the disk took a write, so /readyz rightly says 200. Fill that room too, and ask again.
      let refused: CallResult | null = null;
      let ready: CallResult | null = null;
      for (let round = 0, i = 0; round < 5 && (ready === null || ready.status === 200); round++) {
        refused = null;
        for (; i < 2000 * (round + 1) && refused === null; i++) {
          const r = await api.send(token, conv, `while full ${i} `.padEnd(3000, 'x'));
          if (r.status === 200) acknowledged.push(r.json.message.id as string);
          else refused = r;
        }
        assert.notEqual(refused, null, 'a write failed once the disk was full');
        ready = await api.get('/readyz');
      }
      assertUnavailable(refused!, 'a send on a full disk');
      assertUnavailable(ready!, '/readyz while writes fail');
      assertUnavailable(await api.send(token, conv, 'still full '.padEnd(3000, 'x')), 'another send');
      // Reads do not need the disk to grow.
      assert.deepEqual(await api.history(token, conv), acknowledged);

      unlinkSync(filler);
      await until(async () => (await api.get('/readyz')).status === 200, '/readyz to turn 200');
      const after = await api.send(token, conv, 'after');
      assert.equal(after.status, 200, after.text);
      acknowledged.push(after.json.message.id as string);
      assert.deepEqual(await api.history(token, conv), acknowledged);
      await server.restart();
      api = new Api(server.url);
      assert.deepEqual(await api.history(token, conv), acknowledged, 'everything acknowledged survives a restart');
    });
  });
}

if (STORES.some((s) => s.name === 'sqlite')) {
  const mounted = mountTmpfs(4);
  // The store itself, no server: a background write lands between a refused write and the next readiness check
  // only by chance over HTTP, so the order is made here.
  describe(
    'background writes on a full disk [sqlite]',
    { skip: mounted === null ? 'cannot mount a tmpfs here' : false },
    () => {
      const dir = mounted!;
      after(() => {
        execFileSync('umount', [dir]);
        rmSync(dir, { recursive: true, force: true });
      });

      test('a background write that commits nothing does not make a full disk look writable again', async () => {
        const store = await openStore(`sqlite:${join(dir, 'concierge.db')}`);
        try {
          const org = await store.createOrg('Full');
          const member = await store.upsertMember(org.id, 'filler', {}, 'merge');
          const conversation = await store.createConversation({
            orgID: org.id,
            memberID: member.id,
            type: 'concierge',
            title: null,
          });
          const send = (i: number) =>
            store.insertMessage({
              orgID: org.id,
              conversationID: conversation.id,
              type: 'member',
              authorID: 'filler',
              body: `while full ${i} `.padEnd(3000, 'x'),
              via: 'member',
            });
          const filler = fill(dir);
          let refused: unknown = null;
          for (let i = 0; i < 2000 && refused === null; i++) await send(i).catch((error: unknown) => (refused = error));
          assert.ok(refused instanceof StorageUnavailable, `a send on a full disk: ${String(refused)}`);
          assert.equal(store.writesFailing(), true);
          // The deliverer's claim with nothing to claim, and the purges, commit even now: they write nothing.
          const now = Date.now();
          const claim = {
            owner: 'test',
            now,
            leaseUntil: now + 30_000,
            held: {},
            perEndpoint: 4,
            caps: {},
            limit: 10,
            floors: {},
            soleInstance: true,
          };
          assert.deepEqual(await store.claimWebhookDeliveries(claim), { deliveries: [], ranges: {} });
          await store.purgeSpentTickets(now);
          await store.purgeIdempotency(now - 86_400_000);
          await store.trimWebhookOutbox();
          assert.equal(store.writesFailing(), true, 'background writes that wrote nothing do not clear the flag');
          await assert.rejects(store.probeWrite(), StorageUnavailable);
          await assert.rejects(send(-1), StorageUnavailable);
          unlinkSync(filler);
          await store.probeWrite();
          assert.equal(store.writesFailing(), false, 'the probe write clears it once the disk has room');
          await send(-2);
        } finally {
          await store.close();
        }
      });
    },
  );
}

/** A TCP proxy in front of PostgreSQL that the test can cut and restore: the database "goes down" for one server. */
class Cuttable {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly target: number,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

for (const store of STORES.filter((s) => s.name === 'postgres')) {
  describe(`the database down [${store.name}]`, () => {
    let db: { url: string; drop(): Promise<void> };
    let proxy: Cuttable;
    let server: TestServer;
    let api: Api;

    before(async () => {
      db = await store.fresh();
      const direct = new URL(db.url);
      proxy = new Cuttable(direct.hostname, Number(direct.port));
      await proxy.up();
      const viaProxy = new URL(db.url);
      viaProxy.port = String(proxy.port);
      server = await TestServer.start(viaProxy.toString(), { args: ['--rate-limit', '0'], process: true });
      api = new Api(server.url);
    });
    after(async () => {
      await server.stop();
      await proxy.down();
      await db.drop();
    });

    test('requests answer 503 UNAVAILABLE, not 500, while the database is unreachable, and work again after', async () => {
      const key = server.org.apiKey;
      const token = await api.memberToken(key, 'outage');
      const conv = await api.openConversation(token);
      const acknowledged: string[] = [];
      const first = await api.send(token, conv, 'before');
      assert.equal(first.status, 200, first.text);
      acknowledged.push(first.json.message.id as string);

      await proxy.down();
      // Connections cut mid-use, then refused: every kind of request, each a few times.
      for (let i = 0; i < 3; i++) {
        assertUnavailable(await api.send(token, conv, `during ${i}`), `member send ${i}`);
        assertUnavailable(await api.get(`/v1/conversations/${conv}/messages`, { token }), `member read ${i}`);
        assertUnavailable(
          await api.get('/v1/conversations', { token: key, query: { externalUserID: 'outage' } }),
          `server read ${i}`,
        );
        assertUnavailable(await api.get('/readyz'), `/readyz ${i}`);
      }

      await proxy.up();
      await until(async () => (await api.get('/readyz')).status === 200, '/readyz to turn 200');
      await until(async () => {
        const r = await api.send(token, conv, 'after');
        if (r.status === 200) acknowledged.push(r.json.message.id as string);
        else assertUnavailable(r, 'a send while the pool reconnects');
        return r.status === 200;
      }, 'a send to succeed');
      assert.deepEqual(await api.history(token, conv), acknowledged);
    });
  });
}

for (const store of STORES.filter((s) => s.name === 'sqlite')) {
  describe(`a failed flush of the write-ahead log [${store.name}]`, () => {
    for (const writer of writerVariants(store))
      test(`the server exits unanswered and recovers on restart, rather than carry on past a failed fsync (${writer.name})`, async () => {
        const db = await store.fresh();
        // Fault injection (wal-flush-fault.ts): flushes fail while this file exists.
        const marker = join(mkdtempSync(join(tmpdir(), 'concierge-fault-')), 'fail-flush');
        const server = await TestServer.start(db.url, {
          args: ['--rate-limit', '0', ...writer.args],
          env: { CONCIERGE_FAULT_WAL_FLUSH: marker },
        });
        try {
          let api = new Api(server.url);
          const token = await api.memberToken(server.org.apiKey, 'fsyncgate');
          const conv = await api.openConversation(token);
          const kept = await api.send(token, conv, 'durable');
          assert.equal(kept.status, 200, kept.text);

          closeSync(openSync(marker, 'w'));
          const lost = await api.send(token, conv, 'never answered').then(
            (r) => r.status,
            () => 'no answer' as const,
          );
          assert.equal(lost, 'no answer', 'a write whose flush failed is not answered, neither 200 nor an error');
          assert.equal(await server.stop(), 70, 'the process exited with EX_SOFTWARE');
          assert.match(server.stderr, /fatal: the write-ahead log could not be flushed/);

          unlinkSync(marker);
          await server.restart();
          api = new Api(server.url);
          const after = await api.send(token, conv, 'after recovery');
          assert.equal(after.status, 200, after.text);
          const bodies = await api.get(`/v1/conversations/${conv}/messages`, { token, query: { limit: '100' } });
          const texts = (bodies.json.messages as Array<{ body: string }>).map((m) => m.body).reverse();
          // The unanswered write may or may not have reached the disk: recovery decides, and never twice.
          assert.ok(
            JSON.stringify(texts) === JSON.stringify(['durable', 'after recovery']) ||
              JSON.stringify(texts) === JSON.stringify(['durable', 'never answered', 'after recovery']),
            JSON.stringify(texts),
          );
        } finally {
          await server.stop();
          await db.drop();
        }
      });
  });
}

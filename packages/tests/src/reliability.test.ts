import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Api, STORES, TestServer, withServer, writerVariants } from './harness/index.js';

/**
 * The reliability suite: failures an operator will meet, bounded in time so that it runs in
 * `npm test` on every change. What was tried beyond it, and what holds, is in docs/reliability.md.
 */

/** Resolves once `check()` holds, re-checking after each `poll()`; fails after `ms` (a guard, not a wait). */
async function eventually(what: string, poll: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await poll())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function gauge(server: TestServer): Promise<number> {
  const text = await (await fetch(server.metricsURL)).text();
  return Number(/^concierge_sse_streams_open (\d+)$/m.exec(text)?.[1] ?? NaN);
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

for (const store of STORES) {
  describe(`reliability [${store.name}]`, () => {
    // Both SQLite writers (the writer thread and the main thread) make the same promise: acknowledged means on disk.
    for (const writer of writerVariants(store)) {
      test(`SIGKILL under 50 concurrent senders${writer.name === '' ? '' : ` (${writer.name})`}: every acknowledged message is there exactly once after restart, and retrying the in-flight keys never duplicates one`, async () => {
        const { server, close } = await withServer(store, {
          args: ['--rate-limit', '0', '--ip-rate-limit', '0', '--max-connections-per-ip', '0', ...writer.args],
          process: true,
        });
        try {
          const api = new Api(server.url);
          const token = await api.memberToken(server.org.apiKey, 'killed');
          const conversations = await Promise.all(Array.from({ length: 5 }, () => api.openConversation(token)));
          const acked = new Map<string, string>(); // body → conversation
          const inFlight = new Map<string, string>(); // body (= key) → conversation
          let reached!: () => void;
          const enough = new Promise<void>((resolve) => (reached = resolve));
          const sender = async (i: number) => {
            const conversation = conversations[i % conversations.length]!;
            for (let n = 0; ; n++) {
              const body = `s${i}-${n}`;
              inFlight.set(body, conversation);
              try {
                const r = await api.send(token, conversation, body, { 'idempotency-key': body });
                if (r.status !== 200) throw new Error(`send ${r.status}`);
              } catch {
                return; // the server is gone: this key stays in flight
              }
              inFlight.delete(body);
              acked.set(body, conversation);
              if (acked.size >= 400) reached();
            }
          };
          const senders = Array.from({ length: 50 }, (_, i) => sender(i));
          await enough;
          await server.kill();
          await Promise.all(senders);
          assert.equal(inFlight.size, 50, 'each sender has exactly one request in flight when the server dies');
          await server.restart();
          const again = new Api(server.url); // a new port
          // A client retries what it never got an answer for, with the same key: at most once, whatever happened.
          for (const [body, conversation] of inFlight) {
            const r = await again.send(token, conversation, body, { 'idempotency-key': body });
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.message.body, body);
          }
          const seen = new Map<string, number>();
          for (const conversation of conversations) {
            let cursor: string | null = null;
            do {
              const query: Record<string, string> = { limit: '100', ...(cursor !== null && { cursor }) };
              const page = await again.get(`/v1/conversations/${conversation}/messages`, { token, query });
              for (const m of page.json.messages as Array<{ body: string }>)
                seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
              cursor = page.json.nextCursor as string | null;
            } while (cursor !== null);
          }
          for (const body of acked.keys()) assert.equal(seen.get(body), 1, `acknowledged ${body}`);
          for (const body of inFlight.keys()) assert.equal(seen.get(body), 1, `retried ${body}`);
          assert.equal(seen.size, acked.size + inFlight.size, 'nothing else was stored');
        } finally {
          await close();
        }
      });
    }

    describe('10,000 streams opened and dropped', () => {
      let server: TestServer;
      let close: () => Promise<void>;

      before(async () => {
        ({ server, close } = await withServer(store, {
          args: [
            '--rate-limit',
            '0',
            '--ip-rate-limit',
            '0',
            '--max-connections-per-ip',
            '0',
            '--max-streams-per-member',
            '20000',
          ],
          process: true,
        }));
      });
      after(() => close());

      test('descriptors and the open-stream gauge return to their baseline', async () => {
        const api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'dropper');
        const id = await api.openConversation(token);
        const pid = server.pid!;
        const baseline = { fds: openFds(pid), streams: await gauge(server) };
        assert.equal(baseline.streams, 0);
        const url = `${server.url}/v1/conversations/${id}/stream`;
        const open = () =>
          new Promise<ClientRequest>((resolve, reject) => {
            const req = request(
              url,
              { agent: false, headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } },
              (res) => {
                if (res.statusCode !== 200) reject(new Error(`stream ${res.statusCode}`));
                // The first bytes (the id-only start frame) prove the server registered the stream.
                res.once('data', () => resolve(req));
              },
            );
            req.on('error', reject);
            req.end();
          });
        const wave = 250;
        for (let opened = 0; opened < 10_000; opened += wave) {
          const streams = await Promise.all(Array.from({ length: wave }, open));
          assert.ok((await gauge(server)) >= wave);
          // Dropped, not closed: the way a phone leaving coverage ends a stream.
          for (const req of streams) req.destroy();
        }
        await eventually('the gauge back at its baseline', async () => (await gauge(server)) === baseline.streams);
        // The server's own sockets close on its side once it notices; a few descriptors may be the metrics fetches.
        await eventually('descriptors back at their baseline', async () => openFds(pid) <= baseline.fds + 4);
        // And it still serves.
        assert.equal((await api.send(token, id, 'still here')).status, 200);
      });
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, errorCode, STORES, TestServer, withServer } from './harness/index.js';

for (const store of STORES) {
  describe(`paging [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let token: string;
    let id: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      token = await api.memberToken(server.org.apiKey, 'pager');
      id = await api.openConversation(token);
      for (let i = 0; i < 250; i += 25)
        await Promise.all(
          Array.from({ length: 25 }, (_, j) => api.send(token, id, `m${String(i + j).padStart(3, '0')}`)),
        );
    });
    after(() => close());

    test('250 messages page back newest first with no skip and no repeat while others are inserted', async () => {
      const before = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } })).json;
      const known = new Set<string>();
      // Snapshot of the history as it stands: what paging must return, all of it, once.
      let c: string | null = null;
      const all: string[] = [];
      do {
        const page: { messages: Array<{ id: string }>; nextCursor: string | null } = (
          await api.get(`/v1/conversations/${id}/messages`, {
            token,
            query: { limit: '100', ...(c !== null && { cursor: c }) },
          })
        ).json;
        all.push(...page.messages.map((m) => m.id));
        c = page.nextCursor;
      } while (c !== null);
      assert.equal(all.length, 250);
      for (const x of all) known.add(x);
      assert.equal(known.size, 250);

      // Now page again in small pages while a writer keeps inserting.
      let writing = true;
      const inserted: string[] = [];
      const writer = (async () => {
        for (let i = 0; writing && i < 400; i++) {
          const r = await api.send(token, id, `late ${i}`);
          inserted.push(r.json.message.id);
        }
      })();
      const seen: string[] = [];
      let cursor: string | null = null;
      let first = true;
      let pages = 0;
      while (first || cursor !== null) {
        const r: { status: number; json: any } = await api.get(`/v1/conversations/${id}/messages`, {
          token,
          query: { limit: '7', ...(cursor !== null && { cursor }) },
        });
        assert.equal(r.status, 200);
        seen.push(...r.json.messages.map((m: { id: string }) => m.id));
        cursor = r.json.nextCursor;
        first = false;
        pages++;
        // Pacing so the writer's inserts land between pages; the assertions hold for any interleaving.
        await new Promise((res) => setTimeout(res, 2));
      }
      writing = false;
      await writer;
      assert.ok(pages >= 36);
      assert.equal(new Set(seen).size, seen.length, 'a message was repeated');
      // Every message that existed before paging started is in the pages, in newest-first order.
      const old = seen.filter((x) => known.has(x));
      assert.deepEqual(old, all);
      // Anything else seen was inserted during the walk.
      for (const x of seen) assert.ok(known.has(x) || inserted.includes(x));
      assert.equal(before.messages.length, 100);
    });

    test('limit defaults to 50 and must be 1..100', async () => {
      const r = await api.get(`/v1/conversations/${id}/messages`, { token });
      assert.equal(r.json.messages.length, 50);
      assert.equal(typeof r.json.nextCursor, 'string');
      for (const limit of ['0', '101', '-1', 'abc', '1.5', '', '1e2']) {
        const bad = await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit } });
        assert.equal(bad.status, 422, limit);
        assert.equal(errorCode(bad), 'VALIDATION');
        assert.equal(bad.json.error.field, 'limit');
      }
      const one = await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '1' } });
      assert.equal(one.json.messages.length, 1);
      const hundred = await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } });
      assert.equal(hundred.json.messages.length, 100);
    });

    test('malformed, tampered and foreign cursors are 400 INVALID_CURSOR', async () => {
      const page = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '5' } })).json;
      const good = page.nextCursor as string;
      const [body, mac] = good.split('.');
      const forged = `${Buffer.from(
        Buffer.from(body!, 'base64url')
          .toString()
          .replace(/:[0-9a-z]+$/, ':1'),
      ).toString('base64url')}.${mac}`;
      const other = await api.openConversation(token);
      await api.send(token, other, 'x');
      await api.send(token, other, 'y');
      const foreign = (await api.get(`/v1/conversations/${other}/messages`, { token, query: { limit: '1' } })).json
        .nextCursor;
      for (const cursor of ['garbage', '', '.', `${good}x`, forged, foreign, 'a'.repeat(600), `${body}.`]) {
        const r = await api.get(`/v1/conversations/${id}/messages`, { token, query: { cursor } });
        assert.equal(r.status, 400, cursor);
        assert.equal(errorCode(r), 'INVALID_CURSOR', cursor);
      }
      const ok = await api.get(`/v1/conversations/${id}/messages`, { token, query: { cursor: good } });
      assert.equal(ok.status, 200);
    });
  });
}

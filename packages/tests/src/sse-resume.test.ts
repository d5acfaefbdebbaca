import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, RawStream, ResumingClient, STORES, TestServer, withServer } from './harness/index.js';

const messageID = (e: { event: string | undefined; data: string }): string | null =>
  e.event === undefined ? (JSON.parse(e.data) as { id: string }).id : null;
const globalMessageID = (e: { event: string | undefined; data: string }): string | null =>
  e.event === 'message' ? (JSON.parse(e.data) as { message: { id: string } }).message.id : null;

for (const store of STORES) {
  describe(`SSE resume: no loss, no repeat [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--max-streams-per-member', '50'] }));
      api = new Api(server.url);
    });
    after(() => close());

    test('1,000 messages from several senders while clients drop and resume at random: each gets all, once, in order', async () => {
      const key = server.org.apiKey;
      const token = await api.memberToken(key, 'resumer');
      const id = await api.openConversation(token);
      // Clients start live from an empty conversation, so they must end up with exactly the whole history.
      const clients = [
        ...Array.from(
          { length: 4 },
          () => new ResumingClient(() => server.url, `/v1/conversations/${id}/stream`, token, messageID),
        ),
        new ResumingClient(() => server.url, '/v1/stream', token, globalMessageID),
        new ResumingClient(() => server.url, '/v1/stream', key, globalMessageID),
      ];
      await Promise.all(clients.map((c) => c.start()));
      // Each live start carries a resume point (an id-only frame); drops begin once every client holds one.
      await Promise.all(clients.map((c) => c.until(() => c.currentLastId !== undefined, 'a resume point')));
      let sent = 0;
      const senders = [
        (i: number) => api.send(token, id, `member ${i}`),
        (i: number) =>
          api.post(`/v1/conversations/${id}/messages`, {
            token: key,
            body: { message: `concierge ${i}`, authorID: 'agent' },
          }),
        (i: number) =>
          api.post(`/v1/conversations/${id}/messages`, {
            token: key,
            query: { externalUserID: 'resumer' },
            body: { message: `backend ${i}` },
          }),
      ];
      const dropper = setInterval(() => {
        const c = clients[Math.floor(Math.random() * clients.length)]!;
        c.drop();
      }, 15);
      try {
        await Promise.all(
          senders.map(async (send, s) => {
            for (let i = 0; sent < 1000; i++) {
              sent++;
              const r = await send(i * 3 + s);
              assert.equal(r.status, 200, r.text);
            }
          }),
        );
      } finally {
        clearInterval(dropper);
      }
      const history = await api.history(token, id);
      assert.ok(history.length >= 1000);
      await Promise.all(clients.map((c) => c.waitFor(history.length, 60_000)));
      for (const c of clients) await c.stop();
      for (const [i, c] of clients.entries()) {
        assert.equal(new Set(c.received).size, c.received.length, `client ${i} saw a repeat`);
        assert.deepEqual(c.received, history, `client ${i}: ${c.received.length} of ${history.length}`);
      }
      assert.ok(
        clients.every((c) => c.reconnects >= 3),
        `reconnects: ${clients.map((c) => c.reconnects)}`,
      );
    });

    test('a resume point 300 messages back replays them all in order, then goes live', async () => {
      const token = await api.memberToken(server.org.apiKey, 'catcher');
      const id = await api.openConversation(token);
      const first = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
      });
      await api.send(token, id, 'marker');
      await first.waitForEvents(1);
      first.close();
      const marker = first.events[0]!.id!;
      const behind: string[] = [];
      for (let i = 0; i < 300; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => api.send(token, id, `b${i + j}`)));
        behind.push(...batch.map((r) => r.json.message.id as string));
      }
      const history = await api.history(token, id);
      assert.deepEqual(
        history.slice(1),
        history.filter((x) => behind.includes(x)),
      );
      const s = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
        'last-event-id': marker,
      });
      try {
        await s.waitForEvents(300);
        assert.deepEqual(
          s.events.map((e) => JSON.parse(e.data).id),
          history.slice(1),
        );
        const live = await api.send(token, id, 'live after replay');
        await s.waitForEvents(301);
        assert.equal(JSON.parse(s.events[300]!.data).id, live.json.message.id);
        // ?after= is the same resume point for clients that cannot set headers.
        const viaQuery = await RawStream.open(
          `${server.url}/v1/conversations/${id}/stream?after=${encodeURIComponent(marker)}`,
          {
            authorization: `Bearer ${token}`,
          },
        );
        await viaQuery.waitForEvents(301);
        assert.deepEqual(
          viaQuery.events.map((e) => e.data),
          s.events.map((e) => e.data),
        );
        viaQuery.close();
      } finally {
        s.close();
      }
    });

    test('a live start carries a resume point, so a drop before the first event loses nothing', async () => {
      const token = await api.memberToken(server.org.apiKey, 'early-drop');
      const id = await api.openConversation(token);
      await api.send(token, id, 'before the stream'); // the hub has now published in this org
      for (const path of [`/v1/conversations/${id}/stream`, '/v1/stream']) {
        const s = await RawStream.open(`${server.url}${path}`, { authorization: `Bearer ${token}` });
        await s.until(() => s.lastEventId !== undefined, 5000, 'an id line');
        const m = /\nid: (\S+)\n\n/.exec(s.raw);
        assert.ok(m !== null, s.raw);
        assert.equal(m[1], s.lastEventId);
        assert.equal(s.events.length, 0, 'an id-only frame dispatches no event');
        s.close();
        const missed = await api.send(token, id, `while away from ${path}`);
        const again = await RawStream.open(`${server.url}${path}`, {
          authorization: `Bearer ${token}`,
          'last-event-id': m[1]!,
        });
        await again.until(
          () => again.events.some((e) => e.data.includes(missed.json.message.id)),
          5000,
          'the missed message',
        );
        assert.ok(!again.events.some((e) => e.data.includes('before the stream')));
        again.close();
      }
    });

    test('across a server restart on the same data, resuming clients lose nothing and repeat nothing', async () => {
      const key = server.org.apiKey;
      const token = await api.memberToken(key, 'restarter');
      const id = await api.openConversation(token);
      const clients = [
        new ResumingClient(() => server.url, `/v1/conversations/${id}/stream`, token, messageID),
        new ResumingClient(() => server.url, '/v1/stream', token, globalMessageID),
      ];
      await Promise.all(clients.map((c) => c.start()));
      // A live start's resume point (its id-only frame) is what lets a client that received nothing yet resume.
      await Promise.all(clients.map((c) => c.until(() => c.currentLastId !== undefined, 'a resume point')));
      for (let i = 0; i < 100; i++) await api.send(token, id, `before ${i}`);
      await server.restart();
      api = new Api(server.url);
      for (let i = 0; i < 100; i++) await api.send(token, id, `after ${i}`);
      const history = await api.history(token, id);
      await Promise.all(clients.map((c) => c.waitFor(history.length, 60_000)));
      for (const c of clients) await c.stop();
      for (const c of clients) assert.deepEqual(c.received, history);
    });
  });
}

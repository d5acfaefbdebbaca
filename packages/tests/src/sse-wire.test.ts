import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { acrossStores, Api, clockPast, errorCode, RawStream, TestServer, until, withServer } from './harness/index.js';

/** The server's gauge of open SSE streams. */
async function openStreams(server: TestServer): Promise<number> {
  const m = /^concierge_sse_streams_open (\d+)$/m.exec(await (await fetch(server.metricsURL)).text());
  assert.ok(m !== null, 'concierge_sse_streams_open in /metrics');
  return Number(m[1]);
}

acrossStores((store) => {
  describe(`SSE wire format [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;
    let token: string;
    let id: string;
    const streams: RawStream[] = [];

    const open = async (path: string, headers: Record<string, string> = {}) => {
      const s = await RawStream.open(`${server.url}${path}`, headers);
      streams.push(s);
      return s;
    };

    before(async () => {
      ({ server, close } = await withServer(store, {
        // Short heartbeats and ticket lifetime so the tests that check them take a second, not a minute.
        args: ['--rate-limit', '0', '--heartbeat', '0.3', '--max-streams-per-member', '3', '--ticket-ttl', '2'],
      }));
      api = new Api(server.url);
      key = server.org.apiKey;
      token = await api.memberToken(key, 'streamer');
      id = await api.openConversation(token);
    });
    after(async () => {
      for (const s of streams) s.close();
      await close();
    });

    test('per-conversation stream: headers, retry first, then each message as id + data exactly as listMessages has it', async () => {
      const s = await open(`/v1/conversations/${id}/stream`, { authorization: `Bearer ${token}` });
      assert.equal(s.status, 200);
      assert.equal(s.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(s.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(s.headers['x-accel-buffering'], 'no');
      assert.equal(s.headers['content-encoding'], undefined);
      assert.ok(s.headers['x-request-id']);
      await s.until(() => s.retry !== undefined, undefined, 'retry hint');
      assert.ok(s.raw.startsWith('retry: '), s.raw.slice(0, 30));
      const mine = await api.send(token, id, 'from the member\nwith a second line');
      const theirs = await api.post(`/v1/conversations/${id}/messages`, {
        token: key,
        body: { message: 'from the concierge' },
      });
      await s.waitForEvents(2);
      const page = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '2' } })).json;
      const [e1, e2] = s.events;
      for (const e of [e1!, e2!]) {
        assert.equal(e.event, undefined, 'no event: name on this route');
        assert.ok(e.id !== undefined && e.id.length > 0);
      }
      assert.equal(e1!.data, JSON.stringify(mine.json.message));
      assert.equal(e2!.data, JSON.stringify(theirs.json.message));
      assert.deepEqual(JSON.parse(e2!.data), page.messages[0]);
      assert.deepEqual(JSON.parse(e1!.data), page.messages[1]);
      // The id of an event is the listMessages cursor of that message: paging from it reads what is older.
      const older = (await api.get(`/v1/conversations/${id}/messages`, { token, query: { cursor: e2!.id! } })).json;
      assert.equal(older.messages[0].id, mine.json.message.id);
      // Every data payload on this route parses as a Message.
      for (const e of s.events)
        assert.deepEqual(Object.keys(JSON.parse(e.data)), ['id', 'type', 'authorID', 'body', 'createdAt']);
    });

    test('heartbeat comments keep the stream alive', async () => {
      const s = await open(`/v1/conversations/${id}/stream`, { authorization: `Bearer ${token}` });
      // That they come is what is tested, not how punctually: the bound is a guard, far above two 0.3 s periods.
      await s.until(() => s.comments.filter((c) => c === 'heartbeat').length >= 2, undefined, 'two heartbeats');
      assert.match(s.raw, /\n: heartbeat\n\n/);
      s.close();
    });

    test('errors come back as ordinary JSON before the stream starts', async () => {
      const cases: Array<[string, Record<string, string>, number, string]> = [
        [`/v1/conversations/${id}/stream`, {}, 401, 'UNAUTHORIZED'],
        [`/v1/conversations/${id}/stream`, { authorization: 'Bearer nope' }, 401, 'TOKEN_INVALID'],
        ['/v1/conversations/conv_missing/stream', { authorization: `Bearer ${token}` }, 404, 'NOT_FOUND'],
        [
          `/v1/conversations/${id}/stream`,
          { authorization: `Bearer ${token}`, 'last-event-id': 'bogus' },
          400,
          'INVALID_CURSOR',
        ],
        [`/v1/conversations/${id}/stream?after=bogus`, { authorization: `Bearer ${token}` }, 400, 'INVALID_CURSOR'],
        ['/v1/stream', { authorization: `Bearer ${token}`, 'last-event-id': 'bogus' }, 400, 'INVALID_CURSOR'],
        // (The Org-API-Key alone may stream any conversation of its org: sse-official-sdks.test.ts.)
        [
          `/v1/conversations/${id}/stream?externalUserID=%20padded`,
          { authorization: `Bearer ${key}` },
          422,
          'VALIDATION',
        ],
      ];
      for (const [path, headers, status, code] of cases) {
        const r = await api.get(path, { headers: { ...headers, accept: 'text/event-stream' } });
        assert.equal(r.status, status, `${path} ${r.text}`);
        assert.match(r.headers.get('content-type') ?? '', /application\/json/);
        assert.equal(errorCode(r), code);
      }
      // A message cursor is foreign on the one-connection stream, and an event id on the conversation stream.
      const cursor =
        (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '1' } })).json.nextCursor ??
        (await (async () => {
          await api.send(token, id, 'a');
          await api.send(token, id, 'b');
          return (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '1' } })).json.nextCursor;
        })());
      const foreign = await api.get('/v1/stream', { token, headers: { 'last-event-id': cursor } });
      assert.equal(errorCode(foreign), 'INVALID_CURSOR');
    });

    test('more than the per-member stream limit is 429 TOO_MANY_STREAMS', async () => {
      const other = await api.memberToken(key, 'greedy');
      const conv = await api.openConversation(other);
      const held = [];
      for (let i = 0; i < 3; i++)
        held.push(await open(`/v1/conversations/${conv}/stream`, { authorization: `Bearer ${other}` }));
      for (const h of held) assert.equal(h.status, 200);
      const r = await api.get(`/v1/stream`, { token: other });
      assert.equal(r.status, 429);
      assert.equal(errorCode(r), 'TOO_MANY_STREAMS');
      assert.ok(r.headers.get('retry-after'));
      // The server frees the slot when it sees the connection close: its gauge of open streams says when.
      const openBefore = await openStreams(server);
      held[0]!.close();
      await until(async () => (await openStreams(server)) < openBefore, 'the closed stream to be released');
      const again = await open('/v1/stream', { authorization: `Bearer ${other}` });
      assert.equal(again.status, 200);
      for (const h of held) h.close();
      again.close();
    });

    test('the one-connection stream carries named events: message, conversation, read, typing', async () => {
      const member = await api.memberToken(key, 'multi');
      const mine = await open('/v1/stream', { authorization: `Bearer ${member}` });
      const console = await open('/v1/stream', { authorization: `Bearer ${key}` });
      await mine.until(() => mine.retry !== undefined);
      await console.until(() => console.retry !== undefined);
      const conv = await api.openConversation(member, { title: 'All in one' });
      const sent = await api.send(member, conv, 'hello');
      const reply = await api.post(`/v1/conversations/${conv}/messages`, { token: key, body: { message: 'hi there' } });
      await api.post(`/v1/conversations/${conv}/read`, { token: member, body: { messageID: reply.json.message.id } });
      await api.post(`/v1/conversations/${conv}/typing`, { token: key });
      await api.post(`/v1/conversations/${conv}/typing`, { token: member });
      await mine.until(() => mine.events.some((e) => e.event === 'typing'), undefined, 'typing on the member stream');
      await console.until(
        () => console.events.some((e) => e.event === 'typing'),
        undefined,
        'typing on the console stream',
      );
      await console.until(
        () => console.events.filter((e) => e.event !== 'typing').length >= 4,
        undefined,
        'four events',
      );
      const names = (s: RawStream) => s.events.map((e) => e.event);
      assert.deepEqual(names(mine), ['conversation', 'message', 'message', 'read', 'typing']);
      const created = JSON.parse(mine.events[0]!.data);
      assert.equal(created.conversation.id, conv);
      assert.equal(created.conversation.title, 'All in one');
      assert.deepEqual(JSON.parse(mine.events[1]!.data), { conversationID: conv, message: sent.json.message });
      assert.deepEqual(JSON.parse(mine.events[2]!.data), { conversationID: conv, message: reply.json.message });
      const read = JSON.parse(mine.events[3]!.data);
      assert.equal(read.messageID, reply.json.message.id);
      assert.equal(read.reader, 'member');
      // Typing reaches the other side only: the member sees the concierge typing, the console the member.
      assert.equal(JSON.parse(mine.events[4]!.data).typist, 'concierge');
      const consoleTyping = console.events.filter((e) => e.event === 'typing');
      assert.ok(consoleTyping.every((e) => JSON.parse(e.data).typist === 'member'));
      assert.equal(mine.events[4]!.id, undefined, 'typing is not resumable: no id');
      for (const e of mine.events.slice(0, 4)) assert.ok(e.id);
      // Resume the whole stream from the first event: everything after it, once, in order (typing is not replayed).
      const resumed = await open('/v1/stream', {
        authorization: `Bearer ${member}`,
        'last-event-id': mine.events[0]!.id!,
      });
      await resumed.waitForEvents(3);
      assert.deepEqual(
        resumed.events.map((e) => e.data),
        mine.events.slice(1, 4).map((e) => e.data),
      );
    });

    test('a native EventSource (the eventsource package) streams with a ticket, which is single-use', async () => {
      const member = await api.memberToken(key, 'browser');
      const conv = await api.openConversation(member);
      const t = await api.post('/v1/stream-tickets', { token: member });
      assert.equal(t.status, 201);
      assert.match(t.json.ticket, /^tkt_/);
      const got: string[] = [];
      const es = new EventSource(
        `${server.url}/v1/conversations/${conv}/stream?ticket=${encodeURIComponent(t.json.ticket)}`,
      );
      try {
        await new Promise<void>((resolve, reject) => {
          es.onopen = () => resolve();
          es.onerror = (e) => reject(new Error(`EventSource error ${JSON.stringify(e)}`));
        });
        const done = new Promise<void>((resolve) => {
          es.onmessage = (e) => {
            got.push(JSON.parse(e.data as string).body);
            if (got.length === 3) resolve();
          };
        });
        for (const m of ['one', 'two', 'three']) await api.send(member, conv, m);
        await done;
        assert.deepEqual(got, ['one', 'two', 'three']);
      } finally {
        es.close();
      }
      // The ticket was spent: a second use is refused.
      const reuse = await api.get(`/v1/conversations/${conv}/stream`, { query: { ticket: t.json.ticket } });
      assert.equal(reuse.status, 401);
      assert.equal(errorCode(reuse), 'TICKET_INVALID');
    });

    test('a ticket is refused after its lifetime, and a ticket is not a credential elsewhere', async () => {
      const issued = (await api.post('/v1/stream-tickets', { token })).json;
      // The lifetime is what is tested: wait for the clock to pass the expiry the server stamped on it.
      await clockPast(Date.parse(issued.expiresAt));
      const late = await api.get('/v1/stream', { query: { ticket: issued.ticket } });
      assert.equal(errorCode(late), 'TICKET_INVALID');
      const t2 = (await api.post('/v1/stream-tickets', { token })).json.ticket;
      const elsewhere = await api.get('/v1/conversations', { query: { ticket: t2 } });
      assert.equal(errorCode(elsewhere), 'UNAUTHORIZED');
      const tampered = await api.get('/v1/stream', { query: { ticket: `${t2}x` } });
      assert.equal(errorCode(tampered), 'TICKET_INVALID');
      // Unspent and in time it still works (a fresh one: the two calls above must not eat its lifetime).
      const t3 = (await api.post('/v1/stream-tickets', { token })).json.ticket;
      const ok = await open(`/v1/stream?ticket=${encodeURIComponent(t3)}`);
      assert.equal(ok.status, 200);
      ok.close();
    });
  });
});

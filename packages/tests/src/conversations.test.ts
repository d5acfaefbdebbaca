import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, errorCode, RawStream, STORES, TestServer, withServer, type Org } from './harness/index.js';

for (const store of STORES) {
  describe(`conversations and messages [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    test('a member opens a conversation, sends, the concierge replies, and the history reads newest first', async () => {
      const token = await api.memberToken(key, 'walker');
      const open = await api.post('/v1/conversations', { token, body: { title: 'Theatre', type: 'booking' } });
      assert.equal(open.status, 201);
      assert.deepEqual(
        { ...open.json, id: 'x' },
        { id: 'x', type: 'booking', title: 'Theatre', lastMessageAt: null, unreadCount: 0, externalUserID: 'walker' },
      );
      const id = open.json.id as string;
      const sent = await api.send(token, id, 'Two seats for Friday?');
      assert.equal(sent.status, 200);
      assert.equal(sent.json.ok, true);
      assert.deepEqual(Object.keys(sent.json.message), ['id', 'type', 'authorID', 'body', 'createdAt']);
      assert.equal(sent.json.message.type, 'member');
      assert.equal(sent.json.message.authorID, 'walker');
      assert.match(sent.json.message.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const reply = await api.post(`/v1/conversations/${id}/messages`, {
        token: key,
        body: { message: 'Done: row F.', authorID: 'agent-ann' },
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.json.message.type, 'concierge');
      assert.equal(reply.json.message.authorID, 'agent-ann');
      const plain = await api.post(`/v1/conversations/${id}/messages`, {
        token: key,
        body: { message: 'Anything else?' },
      });
      assert.equal(plain.json.message.authorID, 'concierge');
      const history = await api.get(`/v1/conversations/${id}/messages`, { token });
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.json.messages.map((m: { body: string }) => m.body),
        ['Anything else?', 'Done: row F.', 'Two seats for Friday?'],
      );
      assert.equal(history.json.nextCursor, null);
      const list = await api.get('/v1/conversations', { token });
      assert.equal(list.json.conversations[0].lastMessageAt, plain.json.message.createdAt);
      assert.equal(list.json.conversations[0].unreadCount, 2);
    });

    test('conversations list newest activity first', async () => {
      const token = await api.memberToken(key, 'sorter');
      const a = await api.openConversation(token, { title: 'a' });
      const b = await api.openConversation(token, { title: 'b' });
      const c = await api.openConversation(token, { title: 'c' });
      await api.send(token, a, 'bump a');
      const list = await api.get('/v1/conversations', { token });
      assert.deepEqual(
        list.json.conversations.map((x: { id: string }) => x.id),
        [a, c, b],
      );
      for (const conv of list.json.conversations)
        assert.deepEqual(Object.keys(conv).slice(0, 4), ['id', 'type', 'title', 'lastMessageAt']);
    });

    test('a server credential names the member with externalUserID, and without it gets 422', async () => {
      const token = await api.memberToken(key, 'named');
      const id = await api.openConversation(token);
      await api.send(token, id, 'hello');
      for (const path of ['/v1/conversations', `/v1/conversations/${id}/messages`, `/v1/conversations/${id}`]) {
        const r = await api.get(path, { token: key });
        assert.equal(r.status, 422, path);
        assert.equal(errorCode(r), 'EXTERNAL_USER_ID_REQUIRED');
        assert.equal(r.json.error.field, 'externalUserID');
        const ok = await api.get(path, { token: key, query: { externalUserID: 'named' } });
        assert.equal(ok.status, 200, path);
      }
      const onBehalf = await api.post(`/v1/conversations/${id}/messages`, {
        token: key,
        query: { externalUserID: 'named' },
        body: { message: 'sent by the app backend' },
      });
      assert.equal(onBehalf.status, 200);
      assert.equal(onBehalf.json.message.type, 'member');
      assert.equal(onBehalf.json.message.authorID, 'named');
      const unknown = await api.get('/v1/conversations', { token: key, query: { externalUserID: 'nobody-yet' } });
      assert.deepEqual(unknown.json, { conversations: [] });
    });

    test('a server credential opens a conversation for a member it has not exchanged for yet', async () => {
      const r = await api.post('/v1/conversations', {
        token: key,
        body: { externalUserID: 'new-by-server', title: 'Welcome' },
      });
      assert.equal(r.status, 201);
      const token = await api.memberToken(key, 'new-by-server');
      const list = await api.get('/v1/conversations', { token });
      assert.deepEqual(
        list.json.conversations.map((c: { id: string }) => c.id),
        [r.json.id],
      );
      assert.equal(
        errorCode(await api.post('/v1/conversations', { token: key, body: { title: 'x' } })),
        'EXTERNAL_USER_ID_REQUIRED',
      );
    });

    test('member A never sees member B: every route answers 404 and writes nothing', async () => {
      const a = await api.memberToken(key, 'member-a');
      const b = await api.memberToken(key, 'member-b');
      const bConv = await api.openConversation(b);
      await api.send(b, bConv, 'private');
      const cursor = (await api.get(`/v1/conversations/${bConv}/messages`, { token: b, query: { limit: '1' } })).json;
      const probes = [
        api.get(`/v1/conversations/${bConv}`, { token: a }),
        api.get(`/v1/conversations/${bConv}/messages`, { token: a }),
        api.post(`/v1/conversations/${bConv}/messages`, { token: a, body: { message: 'intrude' } }),
        api.post(`/v1/conversations/${bConv}/read`, { token: a, body: { messageID: 'msg_x' } }),
        api.post(`/v1/conversations/${bConv}/typing`, { token: a }),
        api.get(`/v1/conversations/${bConv}/stream`, { token: a }),
        api.get(`/v1/conversations/${bConv}/messages`, { token: key, query: { externalUserID: 'member-a' } }),
        api.post(`/v1/conversations/${bConv}/messages`, {
          token: key,
          query: { externalUserID: 'member-a' },
          body: { message: 'x' },
        }),
      ];
      for (const r of await Promise.all(probes)) {
        assert.equal(r.status, 404, r.text);
        assert.equal(errorCode(r), 'NOT_FOUND');
      }
      assert.equal(cursor.nextCursor, null);
      const list = await api.get(`/v1/conversations`, { token: a });
      assert.ok(!list.json.conversations.some((c: { id: string }) => c.id === bConv));
      const bHistory = await api.get(`/v1/conversations/${bConv}/messages`, { token: b });
      assert.deepEqual(
        bHistory.json.messages.map((m: { body: string }) => m.body),
        ['private'],
      );
      // A member token may not act for someone else by naming them.
      const naming = await api.get('/v1/conversations', { token: a, query: { externalUserID: 'member-b' } });
      assert.equal(errorCode(naming), 'FORBIDDEN');
    });

    test('org 1 never sees org 2: its key and its members get 404 on every route', async () => {
      const other: Org = await server.createOrg('isolated');
      const otherMember = await api.memberToken(other.apiKey, 'same-name');
      const mine = await api.memberToken(key, 'same-name');
      const myConv = await api.openConversation(mine);
      await api.send(mine, myConv, 'org one only');
      const probes = [
        api.get(`/v1/conversations/${myConv}/messages`, { token: otherMember }),
        api.post(`/v1/conversations/${myConv}/messages`, { token: otherMember, body: { message: 'x' } }),
        api.get(`/v1/conversations/${myConv}/messages`, {
          token: other.apiKey,
          query: { externalUserID: 'same-name' },
        }),
        api.post(`/v1/conversations/${myConv}/messages`, {
          token: other.apiKey,
          body: { message: 'concierge of org 2' },
        }),
        api.post(`/v1/conversations/${myConv}/read`, { token: other.apiKey, body: { messageID: 'x' } }),
        api.get(`/v1/conversations/${myConv}/stream`, { token: other.apiKey, query: { externalUserID: 'same-name' } }),
      ];
      for (const r of await Promise.all(probes)) assert.equal(errorCode(r), 'NOT_FOUND', r.text);
      assert.deepEqual((await api.get('/v1/conversations', { token: otherMember })).json, { conversations: [] });
      assert.equal((await api.get('/v1/members/same-name', { token: other.apiKey })).json.externalUserID, 'same-name');
      const history = await api.get(`/v1/conversations/${myConv}/messages`, { token: mine });
      assert.equal(history.json.messages.length, 1);
    });

    test('path ids arrive percent-encoded and query values with + for space', async () => {
      const r = await api.post('/v1/conversations', { token: key, body: { externalUserID: 'john smith+1@x' } });
      assert.equal(r.status, 201);
      const q = await fetch(`${server.url}/v1/conversations?externalUserID=john+smith%2B1%40x`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(((await q.json()) as { conversations: unknown[] }).conversations.length, 1);
      const m = await fetch(`${server.url}/v1/members/${encodeURIComponent('john smith+1@x')}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(m.status, 200);
    });

    test('sends made at once each post once, in one order: the history, the unread count and the stream agree', async () => {
      // Many sends to a few conversations at the same instant share group-commit batches (on PostgreSQL the
      // batch's writes are one statement): each must take its own seq, and the conversation rows must add up.
      const token = await api.memberToken(key, 'crowd');
      const ids = [await api.openConversation(token), await api.openConversation(token)];
      const stream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${token}` });
      await stream.until(() => stream.lastEventId !== undefined, undefined, 'the start frame');
      const sends = ids.flatMap((id, c) =>
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? api.send(token, id, `member ${c}.${i}`)
            : api.post(`/v1/conversations/${id}/messages`, { token: key, body: { message: `concierge ${c}.${i}` } }),
        ),
      );
      const answers = await Promise.all(sends);
      for (const r of answers) assert.equal(r.status, 200, r.text);
      const sentIDs = new Set(answers.map((r) => r.json.message.id as string));
      assert.equal(sentIDs.size, 40);
      for (const id of ids) {
        const page = await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } });
        assert.equal(page.json.messages.length, 20);
        const conv = await api.get(`/v1/conversations/${id}`, { token });
        assert.equal(conv.json.unreadCount, 10, 'the concierge replies are unread');
      }
      await stream.until(
        () => stream.events.filter((e) => e.event === 'message').length >= 40,
        undefined,
        'every message on the stream',
      );
      const streamed = stream.events.filter((e) => e.event === 'message');
      assert.deepEqual(
        new Set(streamed.map((e) => (JSON.parse(e.data) as { message: { id: string } }).message.id)),
        sentIDs,
      );
      // Ids are positions in one org-wide order: strictly increasing, so nothing was repeated or reordered.
      const seqs = streamed.map((e) => e.id);
      assert.equal(new Set(seqs).size, 40);
      stream.close();
    });

    test('read marks move forward only and drive unreadCount', async () => {
      const token = await api.memberToken(key, 'reader');
      const id = await api.openConversation(token);
      const m1 = (await api.post(`/v1/conversations/${id}/messages`, { token: key, body: { message: 'one' } })).json
        .message;
      const m2 = (await api.post(`/v1/conversations/${id}/messages`, { token: key, body: { message: 'two' } })).json
        .message;
      await api.send(token, id, 'mine does not count');
      let conv = (await api.get(`/v1/conversations/${id}`, { token })).json;
      assert.equal(conv.unreadCount, 2);
      const r1 = await api.post(`/v1/conversations/${id}/read`, { token, body: { messageID: m2.id } });
      assert.equal(r1.status, 200);
      assert.equal(r1.json.conversation.unreadCount, 0);
      const back = await api.post(`/v1/conversations/${id}/read`, { token, body: { messageID: m1.id } });
      assert.equal(back.json.conversation.unreadCount, 0);
      conv = (await api.get(`/v1/conversations/${id}`, { token })).json;
      assert.equal(conv.unreadCount, 0);
      const bad = await api.post(`/v1/conversations/${id}/read`, { token, body: { messageID: 'msg_nope' } });
      assert.equal(errorCode(bad), 'VALIDATION');
      assert.equal(bad.json.error.field, 'messageID');
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Api,
  errorCode,
  firstAdmin,
  newAgent,
  RawStream,
  STORES,
  TestServer,
  withServer,
  type AgentSignIn,
} from './harness/index.js';

interface Item {
  conversation: { id: string; unreadCount: number };
  status: string;
  assigneeID: string | null;
  awaitingReply: boolean;
  member: { externalUserID: string; displayName: string | null };
  lastMessage: { preview: string; fromMember: boolean } | null;
  search?: { snippet: string; rank: number };
}

for (const store of STORES) {
  describe(`inbox, state and notes [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;
    let admin: AgentSignIn;
    let ann: AgentSignIn;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
      admin = await firstAdmin(api, server);
      ann = await newAgent(api, admin.token, 'ann@club.example');
    });
    after(() => close());

    /** Every page of the inbox for `query`, following nextCursor; `between` runs between pages. */
    async function walk(
      token: string,
      query: Record<string, string>,
      between: (page: number) => Promise<void> = async () => {},
    ): Promise<Item[]> {
      const items: Item[] = [];
      let cursor: string | null = null as string | null;
      for (let page = 0; ; page++) {
        const r: { status: number; text: string; json: { data: Item[]; nextCursor: string | null } } = await api.get(
          '/v1/inbox',
          { token, query: { ...query, ...(cursor !== null && { cursor }) } },
        );
        assert.equal(r.status, 200, r.text);
        items.push(...r.json.data);
        cursor = r.json.nextCursor;
        if (cursor === null) return items;
        await between(page);
      }
    }

    const ids = (items: Item[]) => items.map((i) => i.conversation.id);

    test('filters by status, assignee and awaiting reply; counts agree', async () => {
      const org = await server.createOrg('filters');
      const a = await newAgent(api, org.apiKey, 'filters-a@club.example');
      const member = await api.memberToken(org.apiKey, 'filter-member', { displayName: 'Filter Member' });
      const [waiting, answered, mine, closed] = [
        await api.openConversation(member),
        await api.openConversation(member),
        await api.openConversation(member),
        await api.openConversation(member),
      ];
      await api.send(member, waiting, 'Is my table ready?');
      await api.send(member, answered, 'Thanks');
      await api.post(`/v1/conversations/${answered}/messages`, {
        token: a.token,
        body: { message: 'You are welcome' },
      });
      await api.post(`/v1/conversations/${mine}/assign`, { token: a.token, body: { assigneeID: 'me' } });
      await api.post(`/v1/conversations/${closed}/close`, { token: a.token });
      const q = async (query: Record<string, string>, token = a.token) => ids(await walk(token, query)).sort();
      assert.deepEqual(await q({}), [waiting, answered, mine, closed].sort());
      assert.deepEqual(await q({ status: 'closed' }), [closed]);
      assert.deepEqual(await q({ status: 'open', assignee: 'none' }), [waiting, answered].sort());
      assert.deepEqual(await q({ assignee: 'me' }), [mine]);
      assert.deepEqual(await q({ assignee: a.agent.id }, org.apiKey), [mine]);
      assert.deepEqual(await q({ awaiting: 'true' }), [waiting]);
      const first = (await walk(a.token, {}))[0]!;
      assert.equal(first.member.displayName, 'Filter Member');
      const counts = await api.get('/v1/inbox/counts', { token: a.token });
      assert.deepEqual(counts.json, { unassigned: 2, mine: 1, open: 3, awaiting: 1, closed: 1 });
      const keyCounts = await api.get('/v1/inbox/counts', {
        token: org.apiKey,
        headers: { 'concierge-agent-id': a.agent.id },
      });
      assert.equal(keyCounts.json.mine, 1);
      // Another org's inbox holds none of these.
      assert.ok(!(await walk(admin.token, {})).some((i) => i.conversation.id === waiting));
    });

    test('one conversation by its id alone, as the inbox lists it; another org, a member and no such id get 404', async () => {
      const org = await server.createOrg('by-id');
      const a = await newAgent(api, org.apiKey, 'by-id@club.example');
      const member = await api.memberToken(org.apiKey, 'by-id-member', { displayName: 'Linked Member' });
      const id = await api.openConversation(member);
      assert.equal((await api.send(member, id, 'the menu, please')).status, 200);
      // Far down the inbox: newer conversations of others come after it.
      for (let i = 0; i < 3; i++) await api.openConversation(await api.memberToken(org.apiKey, `later-${i}`));
      const listed = (await walk(a.token, {})).find((i) => i.conversation.id === id)!;
      for (const [token, headers] of [
        [a.token, {}],
        [org.apiKey, {}],
      ] as const) {
        const r = await api.get(`/v1/inbox/${id}`, { token, headers });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, listed);
      }
      assert.equal((await api.get(`/v1/inbox/${id}`, { token: a.token })).json.lastMessage.preview, 'the menu, please');
      for (const [token, what] of [
        [admin.token, 'an agent of another org'],
        [key, "another org's key"],
        [member, 'the member'],
      ] as const) {
        const r = await api.get(`/v1/inbox/${id}`, { token });
        assert.equal(r.status, 404, `${what}: ${r.text}`);
        assert.equal(errorCode(r), 'NOT_FOUND');
      }
      for (const missing of ['conv_nope', 'x'.repeat(101), 'counts%2F..', 'conv_%00', '%C3%A9%F0%9F%92%AC']) {
        const r = await api.get(`/v1/inbox/${missing}`, { token: a.token });
        assert.equal(r.status, 404, `${missing}: ${r.text}`);
      }
      // The counts keep their own route.
      assert.equal((await api.get('/v1/inbox/counts', { token: a.token })).json.open, 4);
    });

    test('paging while conversations move and appear neither skips nor repeats one', async () => {
      const org = await server.createOrg('paging');
      const members = await Promise.all([0, 1, 2].map((i) => api.memberToken(org.apiKey, `pager-${i}`)));
      const all: string[] = [];
      for (let i = 0; i < 24; i++) {
        const id = await api.openConversation(members[i % 3]!);
        all.push(id);
        if (i % 2 === 0) await api.send(members[i % 3]!, id, `hello ${i}`);
      }
      let turn = 0;
      const seen = await walk(org.apiKey, { limit: '4' }, async () => {
        // Between pages: the oldest conversations (still to come) get new messages and jump to the top, one
        // already seen moves too, and a new conversation appears.
        turn++;
        await api.send(members[turn % 3]!, all[turn - 1]!, `moved ${turn}`);
        await api.send(members[turn % 3]!, all[all.length - turn]!, `seen moves ${turn}`);
        await api.openConversation(members[turn % 3]!);
      });
      const got = ids(seen);
      assert.equal(new Set(got).size, got.length, 'no conversation twice');
      for (const id of all) assert.ok(got.includes(id), `${id} was skipped`);
      // A fresh walk shows everything once, the new conversations included.
      const fresh = ids(await walk(org.apiKey, { limit: '7' }));
      assert.equal(new Set(fresh).size, all.length + turn);
    });

    test('assign, unassign, close and reopen are idempotent and announced on team streams only', async () => {
      const member = await api.memberToken(key, 'stateful', { displayName: 'Stateful' });
      const conv = await api.openConversation(member);
      const team = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${admin.token}` });
      const mine = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${member}` });
      try {
        const updates = () =>
          team.events.filter((e) => e.event === 'conversation.updated').map((e) => JSON.parse(e.data));
        const assigned = await api.post(`/v1/conversations/${conv}/assign`, {
          token: ann.token,
          body: { assigneeID: 'me' },
        });
        assert.equal(assigned.status, 200, assigned.text);
        assert.equal(assigned.json.assigneeID, ann.agent.id);
        assert.deepEqual(assigned.json.updatedBy, { kind: 'agent', id: ann.agent.id });
        const again = await api.post(`/v1/conversations/${conv}/assign`, {
          token: ann.token,
          body: { assigneeID: ann.agent.id },
        });
        assert.deepEqual(again.json, assigned.json);
        const closed = await api.post(`/v1/conversations/${conv}/close`, { token: key });
        assert.equal(closed.json.status, 'closed');
        assert.deepEqual(closed.json.updatedBy.kind, 'key');
        assert.deepEqual((await api.post(`/v1/conversations/${conv}/close`, { token: key })).json, closed.json);
        // The member writes: the conversation reopens and awaits a reply.
        await api.send(member, conv, 'One more thing');
        await team.until(() => updates().length >= 3, undefined, 'three state changes on the team stream');
        const [u1, u2, u3] = updates();
        assert.equal(u1.assigneeID, ann.agent.id);
        assert.equal(u2.status, 'closed');
        assert.equal(u3.status, 'open');
        assert.equal(u3.awaitingReply, true);
        assert.deepEqual(u3.updatedBy, { kind: 'member', id: 'stateful' });
        const unassigned = await api.post(`/v1/conversations/${conv}/unassign`, { token: ann.token });
        assert.equal(unassigned.json.assigneeID, null);
        const reopened = await api.post(`/v1/conversations/${conv}/reopen`, { token: ann.token });
        assert.equal(reopened.json.status, 'open');
        // A barrier the member's stream does carry: once it arrives, every earlier event would have too.
        const barrier = await api.post(`/v1/conversations/${conv}/messages`, {
          token: ann.token,
          body: { message: 'barrier' },
        });
        await mine.until(
          () => mine.events.some((e) => e.data.includes(barrier.json.message.id)),
          undefined,
          'the barrier message on the member stream',
        );
        await team.until(() => updates().length >= 5, undefined, 'the unassign and the flip of awaiting reply');
        // Repeats made no event: assign, close, unassign, then the reply's flip of awaitingReply. Reopen of an open
        // conversation changed nothing.
        assert.deepEqual(
          updates().map((u) => [u.status, u.assigneeID, u.awaitingReply]),
          [
            ['open', ann.agent.id, false],
            ['closed', ann.agent.id, false],
            ['open', ann.agent.id, true],
            ['open', null, true],
            ['open', null, false],
          ],
        );
        assert.ok(!mine.events.some((e) => e.event === 'conversation.updated' || e.event === 'note'));
      } finally {
        team.close();
        mine.close();
      }
    });

    test('notes never reach a member: not their routes, pages, streams, unread count or replay', async () => {
      const member = await api.memberToken(key, 'noted');
      const conv = await api.openConversation(member);
      await api.send(member, conv, 'hello');
      const memberStream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${member}` });
      const convStream = await RawStream.open(`${server.url}/v1/conversations/${conv}/stream`, {
        authorization: `Bearer ${member}`,
      });
      const keyStream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${key}` });
      try {
        const note = await api.post(`/v1/conversations/${conv}/notes`, {
          token: ann.token,
          body: { body: 'VIP: upgrade quietly' },
          headers: { 'idempotency-key': 'note-1' },
        });
        assert.equal(note.status, 201, note.text);
        assert.equal(note.json.authorID, ann.agent.id);
        const replay = await api.post(`/v1/conversations/${conv}/notes`, {
          token: ann.token,
          body: { body: 'VIP: upgrade quietly' },
          headers: { 'idempotency-key': 'note-1' },
        });
        assert.equal(replay.json.id, note.json.id);
        const byKey = await api.post(`/v1/conversations/${conv}/notes`, {
          token: key,
          body: { body: 'from the backend' },
          headers: { 'concierge-agent-id': admin.agent.id },
        });
        assert.equal(byKey.json.authorID, admin.agent.id);
        await keyStream.until(
          () => keyStream.events.filter((e) => e.event === 'note').length === 2,
          undefined,
          'two notes on the key stream',
        );
        const listed = await api.get(`/v1/conversations/${conv}/notes`, { token: ann.token, query: { limit: '1' } });
        assert.equal(listed.json.notes[0].id, byKey.json.id);
        const older = await api.get(`/v1/conversations/${conv}/notes`, {
          token: ann.token,
          query: { cursor: listed.json.nextCursor },
        });
        assert.deepEqual(
          older.json.notes.map((n: { id: string }) => n.id),
          [note.json.id],
        );
        // The member's side: nothing of it anywhere.
        for (const r of [
          await api.get(`/v1/conversations/${conv}/notes`, { token: member }),
          await api.post(`/v1/conversations/${conv}/notes`, { token: member, body: { body: 'mine?' } }),
        ]) {
          assert.equal(r.status, 404);
          assert.equal(errorCode(r), 'NOT_FOUND');
        }
        const barrier = await api.post(`/v1/conversations/${conv}/messages`, {
          token: ann.token,
          body: { message: 'a reply' },
        });
        for (const s of [memberStream, convStream])
          await s.until(() => s.events.some((e) => e.data.includes(barrier.json.message.id)), undefined, 'barrier');
        const page = await api.get(`/v1/conversations/${conv}/messages`, { token: member });
        const list = await api.get('/v1/conversations', { token: member });
        const one = await api.get(`/v1/conversations/${conv}`, { token: member });
        assert.equal(one.json.unreadCount, 1);
        assert.equal(list.json.conversations[0].unreadCount, 1);
        // From the stream's start (its first `id:`, written before any event): everything since, replayed.
        const start = /^id: (\S+)/m.exec(memberStream.raw)![1]!;
        const replay2 = await RawStream.open(`${server.url}/v1/stream?after=${start}`, {
          authorization: `Bearer ${member}`,
        });
        await replay2.until(
          () => replay2.events.some((e) => e.data.includes(barrier.json.message.id)),
          undefined,
          'replayed barrier',
        );
        replay2.close();
        for (const text of [page.text, list.text, one.text, memberStream.raw, convStream.raw, replay2.raw]) {
          assert.doesNotMatch(text, /VIP: upgrade|from the backend|note_|conversation\.updated|assignee/);
        }
      } finally {
        memberStream.close();
        convStream.close();
        keyStream.close();
      }
    });

    test('search matches message text and member names, ranked, with a snippet, in this org only', async () => {
      // Another org's member whose name also starts with "lovel", indexed before Ada.
      await api.memberToken(key, 'early', { displayName: 'Lovell Early' });
      const org = await server.createOrg('search');
      const ada = await api.memberToken(org.apiKey, 'ada', { displayName: 'Ada Lovelace' });
      const bob = await api.memberToken(org.apiKey, 'bob', { displayName: 'Bob Marley' });
      const opera = await api.openConversation(bob);
      await api.send(bob, opera, 'Two tickets for the opera on Friday');
      await api.send(bob, opera, 'The opera, the opera, I love the opera');
      const once = await api.openConversation(bob);
      await api.send(bob, once, 'Maybe an opera, maybe a film');
      const adas = await api.openConversation(ada);
      await api.send(ada, adas, 'A table by the window');
      const other = await api.memberToken(key, 'outsider', { displayName: 'Opera Fan' });
      await api.send(other, await api.openConversation(other), 'opera opera opera');
      const search = async (q: string, extra: Record<string, string> = {}) => {
        const r = await api.get('/v1/inbox', { token: org.apiKey, query: { q, ...extra } });
        assert.equal(r.status, 200, r.text);
        return r.json.data as Item[];
      };
      const operaHits = await search('OPERA');
      assert.deepEqual(ids(operaHits), [opera, once], 'more matches rank first; the other org is not searched');
      assert.match(operaHits[0]!.search!.snippet, /\[opera\]/i);
      // Each snippet is cut from that conversation's own best message, never from another match (here, the other
      // org's newer "opera opera opera").
      assert.match(operaHits[0]!.search!.snippet, /love/);
      assert.match(operaHits[1]!.search!.snippet, /film/);
      assert.ok(operaHits[0]!.search!.rank >= operaHits[1]!.search!.rank);
      const lovel = await search('lovel');
      assert.deepEqual(ids(lovel), [adas], 'a name, by prefix');
      assert.match(lovel[0]!.search!.snippet, /\[Lovelace\]/);
      assert.deepEqual(ids(await search('ada lovelace')), [adas], 'every word, in the name');
      // Every word must be in one text: the same message, or the member's name, email and id.
      assert.deepEqual(await search('window bob'), []);
      assert.deepEqual(await search('"); DROP TABLE messages; --'), []);
      await api.post(`/v1/conversations/${once}/close`, { token: org.apiKey });
      assert.deepEqual(ids(await search('opera', { status: 'open' })), [opera]);
      const paged = await api.get('/v1/inbox', { token: org.apiKey, query: { q: 'opera', limit: '1' } });
      const next = await api.get('/v1/inbox', {
        token: org.apiKey,
        query: { q: 'opera', limit: '1', cursor: paged.json.nextCursor },
      });
      assert.deepEqual(ids([...paged.json.data, ...next.json.data]), [opera, once]);
      assert.equal(next.json.nextCursor, null);
      // An erased member's words leave the index with them.
      await api.post('/v1/members/bob/erase', { token: org.apiKey });
      assert.deepEqual(await search('opera'), []);
    });

    test('bad input on every new route is refused in the envelope', async () => {
      const member = await api.memberToken(key, 'bad-input');
      const conv = await api.openConversation(member);
      const cases: Array<[string, string, unknown, number, string, string?]> = [
        ['GET', '/v1/inbox?status=maybe', undefined, 422, 'VALIDATION', 'status'],
        ['GET', '/v1/inbox?awaiting=yes', undefined, 422, 'VALIDATION', 'awaiting'],
        ['GET', '/v1/inbox?limit=0', undefined, 422, 'VALIDATION', 'limit'],
        ['GET', '/v1/inbox?q=%20', undefined, 422, 'VALIDATION', 'q'],
        ['GET', '/v1/inbox?cursor=nope', undefined, 400, 'INVALID_CURSOR', 'cursor'],
        ['GET', `/v1/conversations/${conv}/notes?cursor=nope`, undefined, 400, 'INVALID_CURSOR', 'cursor'],
        ['POST', `/v1/conversations/${conv}/assign`, {}, 422, 'VALIDATION', 'assigneeID'],
        ['POST', `/v1/conversations/${conv}/assign`, { assigneeID: 'agt_nobody' }, 422, 'VALIDATION', 'assigneeID'],
        ['POST', `/v1/conversations/${conv}/assign`, { assigneeID: 42 }, 422, 'VALIDATION', 'assigneeID'],
        ['POST', '/v1/conversations/conv_nope/close', undefined, 404, 'NOT_FOUND'],
        ['POST', `/v1/conversations/${conv}/notes`, { body: '' }, 422, 'VALIDATION', 'body'],
        ['POST', `/v1/conversations/${conv}/notes`, { text: 'x' }, 422, 'VALIDATION', 'body'],
        ['POST', '/v1/agents', { email: 'not-an-email', name: 'X' }, 422, 'VALIDATION', 'email'],
        ['POST', '/v1/agents', { email: 'a@b.example', name: 'X', role: 'owner' }, 422, 'VALIDATION', 'role'],
        ['PATCH', `/v1/agents/${ann.agent.id}`, { disabled: 'yes' }, 422, 'VALIDATION', 'disabled'],
        ['PATCH', '/v1/agents/agt_nope', { name: 'X' }, 404, 'NOT_FOUND'],
        ['DELETE', '/v1/agent-sessions/ags_nope', undefined, 404, 'NOT_FOUND'],
        ['POST', '/v1/agent-auth/sign-in', { email: 'a@b.example' }, 422, 'VALIDATION', 'password'],
        ['POST', '/v1/agent-auth/sign-in', { email: 42, password: 'x' }, 422, 'VALIDATION', 'email'],
        ['POST', '/v1/agent-auth/setup', { token: 'x', password: 'short' }, 422, 'VALIDATION', 'password'],
        [
          'POST',
          '/v1/agent-auth/setup',
          { token: 'unknown', password: 'long enough password' },
          401,
          'SIGN_IN_LINK_INVALID',
        ],
      ];
      for (const [method, path, body, status, code, field] of cases) {
        const r = await api.call(method, path, { token: admin.token, ...(body !== undefined && { body }) });
        assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
        assert.equal(errorCode(r), code, `${method} ${path}`);
        if (field !== undefined) assert.equal(r.json.error.field, field, `${method} ${path}`);
      }
      const raw = await api.post('/v1/agent-auth/sign-in', {
        rawBody: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(errorCode(raw), 'BAD_REQUEST');
      const me = await api.get('/v1/inbox?assignee=me', { token: key });
      assert.equal(me.json.error.field, 'assignee');
      const badAgent = await api.get('/v1/inbox/counts', { token: key, headers: { 'concierge-agent-id': 'agt_nope' } });
      assert.equal(badAgent.json.error.field, 'Concierge-Agent-ID');
      // A member token is refused on every team route, before its input is even read.
      for (const [method, path] of [
        ['GET', '/v1/inbox'],
        ['GET', '/v1/inbox/counts'],
        ['POST', `/v1/conversations/${conv}/close`],
        ['GET', '/v1/agents'],
      ] as const) {
        const r = await api.call(method, path, { token: member });
        assert.equal(r.status, 403, `${method} ${path}`);
      }
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '@concierge/protocol';
import fc from 'fast-check';
import {
  Api,
  cli,
  createOrg,
  errorCode,
  HostedSDKClient,
  RawStream,
  STORES,
  TestServer,
  withServer,
  type Org,
} from './harness/index.js';

/**
 * The member routes as the hosted API has them (shared/contract/wire-contract.md, "MemberSummary"): PUT upserts,
 * `attributes` round-trip within documented bounds, `tier` is never null, the loyalty keys its official SDKs
 * require are present and empty, DELETE archives (offboards) and a PUT restores, erasure is its own request, and
 * `GET /v1/members` pages the org's members newest first.
 */

/** The keys the official Kotlin SDK's MemberSummary requires (it decodes strictly: a missing key is an error). */
const KOTLIN_MEMBER_SUMMARY_KEYS = [
  'externalUserID',
  'displayName',
  'tier',
  'attributes',
  'redemptionCounts',
  'wallet',
];

/** A JSON object nested `depth` levels deep, the object itself being the first. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { down: value };
  return value;
}

/** A JSON object whose encoding is exactly `bytes` long (UTF-8). */
function sized(bytes: number): Record<string, string> {
  const overhead = JSON.stringify({ pad: '' }).length;
  return { pad: 'x'.repeat(bytes - overhead) };
}

/** Whether `value` has a `__proto__` key at any depth (own keys: a parsed or generated object may have one). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]));
}

for (const store of STORES) {
  describe(`members as the hosted API has them [${store.name}]`, () => {
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

    const member = (id: string, token = key) => api.get(`/v1/members/${encodeURIComponent(id)}`, { token });
    const put = (id: string, body: unknown) => api.put(`/v1/members/${encodeURIComponent(id)}`, { token: key, body });

    test('PUT upserts: fields left out keep their values, null clears one', async () => {
      const attributes = { vip: true, seat: '2A' };
      const created = await put('upserted', { displayName: 'Ada', email: 'ada@example.com', tier: 'gold', attributes });
      assert.equal(created.status, 201, created.text);
      const renamed = await put('upserted', { displayName: 'Ada L.' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.json.displayName, 'Ada L.');
      assert.equal(renamed.json.email, 'ada@example.com', 'email left out: kept');
      assert.equal(renamed.json.tier, 'gold', 'tier left out: kept');
      assert.deepEqual(renamed.json.attributes, attributes, 'attributes left out: kept');
      const cleared = await put('upserted', { email: null });
      assert.equal(cleared.json.email, null);
      assert.equal(cleared.json.displayName, 'Ada L.');
      const got = await member('upserted');
      assert.deepEqual(got.json, cleared.json);
      const again = await put('upserted', { email: null });
      assert.equal(again.status, 200, 'PUT is idempotent by itself');
      assert.equal(again.json.email, null);
    });

    test('GET: tier is never null (the org default, settable), loyalty keys empty, every Kotlin key present', async () => {
      const org: Org = await createOrg(server.databaseURL, 'tiers');
      await api.memberToken(org.apiKey, 'no-tier');
      await api.memberToken(org.apiKey, 'own-tier', { tier: 'platinum' });
      const plain = await member('no-tier', org.apiKey);
      assert.equal(plain.status, 200);
      for (const k of KOTLIN_MEMBER_SUMMARY_KEYS) assert.ok(k in plain.json, `${k} is present`);
      assert.equal(plain.json.tier, 'standard', "the org's default tier until it is set");
      assert.equal(plain.json.attributes, null);
      assert.deepEqual(plain.json.redemptionCounts, {});
      assert.deepEqual(plain.json.wallet, {});
      assert.equal(plain.json.archivedAt, null);
      const set = await cli(['orgs', 'default-tier', 'silver', '--org', org.orgID], server.databaseURL);
      assert.match(set.stdout, /silver/);
      assert.equal((await member('no-tier', org.apiKey)).json.tier, 'silver', 'the new default shows at once');
      assert.equal((await member('own-tier', org.apiKey)).json.tier, 'platinum', 'a tier of their own wins');
      assert.equal((await member('no-tier')).status, 404, "another org's key does not see the member");
      const put1 = await api.put('/v1/members/no-tier', { token: org.apiKey, body: { tier: null } });
      assert.equal(put1.json.tier, 'silver', 'a PUT answer carries the default too');
      const listed = await api.get('/v1/members', { token: org.apiKey });
      for (const m of listed.json.members as Array<Record<string, unknown>>) {
        for (const k of KOTLIN_MEMBER_SUMMARY_KEYS) assert.ok(k in m, `${k} is present in a listed member`);
        assert.equal(typeof m.tier, 'string');
      }
      // The other org keeps its own default.
      await api.memberToken(key, 'default-elsewhere');
      assert.equal((await member('default-elsewhere')).json.tier, 'standard');
    });

    test('attributes within the bounds are stored and returned equal (property)', async () => {
      // Keys are any string but `__proto__` at any depth (refused, below; fast-check's JSON values do make such
      // keys); values any JSON. What is sent is JSON text, so the value expected back is the generated one as JSON
      // reads it (-0 is sent as 0).
      const attributes = fc
        .dictionary(fc.string(), fc.jsonValue({ maxDepth: LIMITS.attributesMaxDepth - 2 }), { maxKeys: 8 })
        .filter((a) => !hasProtoKey(a) && Buffer.byteLength(JSON.stringify(a), 'utf8') <= LIMITS.attributesMaxBytes);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(attributes, async (a) => {
          const id = `prop-${n++}`;
          const sent = JSON.parse(JSON.stringify(a)) as unknown;
          const r = await put(id, { attributes: a });
          assert.equal(r.status, 201, r.text);
          assert.deepStrictEqual(r.json.attributes, sent);
          assert.deepStrictEqual((await member(id)).json.attributes, sent);
        }),
        { numRuns: 40 },
      );
    });

    test('attributes at the bounds are accepted; beyond them, or not an object, 422 VALIDATION and nothing written', async () => {
      assert.equal((await put('bounded', { attributes: nested(LIMITS.attributesMaxDepth) })).status, 201);
      const exact = await put('bounded', { attributes: sized(LIMITS.attributesMaxBytes) });
      assert.equal(exact.status, 200, exact.text);
      const stored = (await member('bounded')).json;
      const refused: Array<[string, unknown]> = [
        ['too deep', nested(LIMITS.attributesMaxDepth + 1)],
        ['too deep in an array', { list: [[[[[[[[1]]]]]]]] }],
        ['too large', sized(LIMITS.attributesMaxBytes + 1)],
        ['too large in characters of several bytes', { pad: 'é'.repeat(LIMITS.attributesMaxBytes / 2) }],
        ['an array', [1, 2]],
        ['a string', 'vip'],
        ['a number', 7],
      ];
      for (const [what, attributes] of refused) {
        const r = await put('bounded', { displayName: 'changed', attributes });
        assert.equal(r.status, 422, `${what}: ${r.text}`);
        assert.equal(errorCode(r), 'VALIDATION', what);
        assert.equal(r.json.error.field, 'attributes', what);
      }
      // `__proto__` survives JSON.parse as data but not the object rebuilt from it: refused, never dropped.
      const proto = await api.put('/v1/members/bounded', {
        token: key,
        rawBody: '{"attributes":{"__proto__":{"admin":true},"a":1}}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(proto.status, 422, proto.text);
      assert.equal(proto.json.error.field, 'attributes');
      assert.deepEqual((await member('bounded')).json, stored, 'a refused PUT writes nothing');
      const huge = await put('bounded', { attributes: sized(LIMITS.bodyLimitBytes + 1) });
      assert.equal(huge.status, 413, 'a body over the limit is 413 as on every route');
      assert.equal(errorCode(huge), 'PAYLOAD_TOO_LARGE');
      const cleared = await put('bounded', { attributes: null });
      assert.equal(cleared.json.attributes, null, 'null clears them');
    });

    test('DELETE archives: no new token, old tokens refused, streams end, history kept, PUT restores', async () => {
      const token = await api.memberToken(key, 'offboarded', { displayName: 'Olga', tier: 'gold' });
      const conv = await api.openConversation(token);
      assert.equal((await api.send(token, conv, 'before the archive')).status, 200);
      const stream = await RawStream.open(`${server.url}/v1/conversations/${conv}/stream`, {
        authorization: `Bearer ${token}`,
      });
      const events = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${token}` });
      for (const s of [stream, events]) await s.until(() => s.retry !== undefined);

      const removed = await api.delete('/v1/members/offboarded', { token: key, query: { retainBalance: 'true' } });
      assert.equal(removed.status, 200, removed.text);
      assert.deepEqual(removed.json, {
        externalUserID: 'offboarded',
        archived: true,
        balanceRetained: false,
        ok: true,
        deleted: false,
      });
      await stream.waitForEnd();
      await events.waitForEnd();
      const old = await api.get('/v1/conversations', { token });
      assert.equal(old.status, 401);
      assert.equal(errorCode(old), 'TOKEN_REVOKED');
      const exchange = await api.post('/v1/auth/exchange', { token: key, body: { externalUserID: 'offboarded' } });
      assert.equal(exchange.status, 409, exchange.text);
      assert.equal(errorCode(exchange), 'MEMBER_ARCHIVED');
      assert.equal(exchange.headers.get('x-should-retry'), 'false');

      // The team keeps the history: the member's record, their conversation and its messages.
      const archived = await member('offboarded');
      assert.equal(archived.status, 200);
      assert.equal(archived.json.displayName, 'Olga');
      assert.match(archived.json.archivedAt, /Z$/);
      const history = await api.get(`/v1/conversations/${conv}/messages`, {
        token: key,
        query: { externalUserID: 'offboarded' },
      });
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.json.messages.map((m: { body: string }) => m.body),
        ['before the archive'],
      );
      const inbox = await api.get('/v1/inbox', { token: key });
      assert.ok(inbox.json.data.some((i: { conversation: { id: string } }) => i.conversation.id === conv));
      const listed = await api.get('/v1/members', { token: key, query: { limit: '100' } });
      assert.ok(!listed.json.members.some((m: { externalUserID: string }) => m.externalUserID === 'offboarded'));

      // DELETE is idempotent by itself; an unknown member is no error.
      const twice = await api.delete('/v1/members/offboarded', { token: key });
      assert.equal(twice.json.archived, true);
      assert.equal((await member('offboarded')).json.archivedAt, archived.json.archivedAt, 'archived once');
      const nobody = await api.delete('/v1/members/nobody-here', { token: key });
      assert.equal(nobody.status, 200);
      assert.equal(nobody.json.archived, false);

      // A PUT restores: new tokens work, the old one stays dead, the history is theirs again.
      const restored = await put('offboarded', {});
      assert.equal(restored.status, 200);
      assert.equal(restored.json.archivedAt, null);
      assert.equal(restored.json.tier, 'gold', 'the profile survived the archive');
      assert.equal(errorCode(await api.get('/v1/conversations', { token })), 'TOKEN_REVOKED');
      const fresh = await api.memberToken(key, 'offboarded');
      const mine = await api.get('/v1/conversations', { token: fresh });
      assert.equal(mine.status, 200);
      assert.deepEqual(
        mine.json.conversations.map((c: { id: string }) => c.id),
        [conv],
      );
    });

    test('erase (POST …/erase) removes the member, their tokens and conversations; a retry replays', async () => {
      const token = await api.memberToken(key, 'leaver');
      const conversation = await api.openConversation(token);
      await api.send(token, conversation, 'bye');
      const headers = { 'idempotency-key': 'erase-leaver-1' };
      const r = await api.post('/v1/members/leaver/erase', { token: key, headers });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { ok: true, erased: true });
      const replay = await api.post('/v1/members/leaver/erase', { token: key, headers });
      assert.deepEqual(replay.json, { ok: true, erased: true });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(errorCode(await api.get('/v1/conversations', { token })), 'TOKEN_REVOKED');
      const again = await api.post('/v1/members/leaver/erase', { token: key });
      assert.deepEqual(again.json, { ok: true, erased: false });
      assert.equal((await member('leaver')).status, 404);
      // The same externalUserID can come back as a new member with nothing of the old one.
      const fresh = await api.memberToken(key, 'leaver');
      assert.deepEqual((await api.get('/v1/conversations', { token: fresh })).json, { conversations: [] });
      const old = await api.get(`/v1/conversations/${conversation}/messages`, {
        token: key,
        query: { externalUserID: 'leaver' },
      });
      assert.equal(old.status, 404);
    });

    test('an archived member can be erased too', async () => {
      const token = await api.memberToken(key, 'archived-then-erased');
      await api.openConversation(token);
      assert.equal((await api.delete('/v1/members/archived-then-erased', { token: key })).json.archived, true);
      const erased = await api.post('/v1/members/archived-then-erased/erase', { token: key });
      assert.deepEqual(erased.json, { ok: true, erased: true });
      assert.equal((await member('archived-then-erased')).status, 404);
    });

    test('GET /v1/members pages newest first with nextCursor; a bad or foreign cursor is INVALID_CURSOR', async () => {
      const org = await createOrg(server.databaseURL, 'listing');
      const other = await createOrg(server.databaseURL, 'listing-other');
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
      for (const id of ids) await api.put(`/v1/members/${id}`, { token: org.apiKey, body: { displayName: id } });
      await api.put('/v1/members/foreign', { token: other.apiKey, body: {} });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string> = { limit: '2', ...(cursor !== null && { cursor }) };
        const page = await api.get('/v1/members', { token: org.apiKey, query });
        assert.equal(page.status, 200, page.text);
        assert.deepEqual(Object.keys(page.json).sort(), ['members', 'nextCursor']);
        assert.ok(page.json.members.length <= 2);
        seen.push(...page.json.members.map((m: { externalUserID: string }) => m.externalUserID));
        cursor = page.json.nextCursor;
        pages++;
      } while (cursor !== null);
      assert.deepEqual(seen, ['m5', 'm4', 'm3', 'm2', 'm1'], 'newest first, each once');
      assert.equal(pages, 3);
      // An upsert of an old member does not move it: the order is when the member was first seen.
      await api.put('/v1/members/m1', { token: org.apiKey, body: { displayName: 'again' } });
      const all = await api.get('/v1/members', { token: org.apiKey });
      assert.deepEqual(
        all.json.members.map((m: { externalUserID: string }) => m.externalUserID),
        ['m5', 'm4', 'm3', 'm2', 'm1'],
      );
      assert.equal(all.json.nextCursor, null);
      const first = await api.get('/v1/members', { token: org.apiKey, query: { limit: '1' } });
      const foreignCursor = await api.get('/v1/members', {
        token: other.apiKey,
        query: { cursor: first.json.nextCursor },
      });
      assert.equal(foreignCursor.status, 400, "another org's cursor");
      assert.equal(errorCode(foreignCursor), 'INVALID_CURSOR');
      for (const bad of ['nonsense', `${first.json.nextCursor}x`, 'a.b']) {
        const r = await api.get('/v1/members', { token: org.apiKey, query: { cursor: bad } });
        assert.equal(r.status, 400, bad);
        assert.equal(errorCode(r), 'INVALID_CURSOR');
      }
      // A cursor of another list (a message page) is not a member cursor.
      const token = await api.memberToken(org.apiKey, 'm5');
      const conv = await api.openConversation(token);
      await api.send(token, conv, 'x');
      const messages = await api.get(`/v1/conversations/${conv}/messages`, { token });
      const wrongKind = await api.get('/v1/members', {
        token: org.apiKey,
        query: { cursor: messages.json.latestCursor },
      });
      assert.equal(errorCode(wrongKind), 'INVALID_CURSOR');
      for (const limit of ['0', '101', 'ten', '1.5']) {
        const r = await api.get('/v1/members', { token: org.apiKey, query: { limit } });
        assert.equal(r.status, 422, limit);
        assert.equal(errorCode(r), 'VALIDATION');
      }
      const others = await api.get('/v1/members', { token: other.apiKey });
      assert.deepEqual(
        others.json.members.map((m: { externalUserID: string }) => m.externalUserID),
        ['foreign'],
        "a foreign org's members are never listed",
      );
      const memberToken = await api.get('/v1/members', { token });
      assert.equal(memberToken.status, 403, 'server-only');
    });

    test("the hosted API's SDK lists and removes members as it sends them (retainBalance, no Idempotency-Key)", async () => {
      const org = await createOrg(server.databaseURL, 'hosted');
      const live = JSON.parse(
        (await cli(['keys', 'create', '--org', org.orgID, '--prefix', 'expys_live_', '--json'], server.databaseURL))
          .stdout,
      ) as { apiKey: string };
      const sdk = new HostedSDKClient(server.url, live.apiKey);
      const set = await sdk.setMember('vip 1', { displayName: 'V', tier: 'gold', attributes: { seat: '1A' } });
      assert.equal(set.status, 201);
      await sdk.setMember('vip 2', {});
      const list = await sdk.listMembers({ limit: 1 });
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.json.members.map((m) => m.externalUserID),
        ['vip 2'],
      );
      const next = await sdk.listMembers({ limit: 1, cursor: list.json.nextCursor! });
      assert.deepEqual(
        next.json.members.map((m) => m.externalUserID),
        ['vip 1'],
      );
      assert.deepEqual(next.json.members[0]!.attributes, { seat: '1A' });
      const removed = await sdk.removeMember('vip 1', { retainBalance: true });
      assert.equal(removed.status, 200);
      assert.equal(removed.json.externalUserID, 'vip 1');
      assert.equal(removed.json.archived, true);
      assert.equal(removed.json.balanceRetained, false);
      const plain = await sdk.removeMember('vip 2');
      assert.equal(plain.json.archived, true);
      const sent = sdk.sent.filter((s) => s.method === 'DELETE').map((s) => s.path);
      assert.deepEqual(sent, ['/v1/members/vip%201?retainBalance=true', '/v1/members/vip%202']);
      for (const s of sdk.sent) assert.equal(s.headers['idempotency-key'], undefined, `${s.method} carries no key`);
      assert.deepEqual((await sdk.listMembers()).json, { members: [], nextCursor: null });
    });
  });
}

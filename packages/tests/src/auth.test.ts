import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { acrossStores, Api, cli, clockPast, errorCode, TestServer, withServer } from './harness/index.js';

acrossStores((store) => {
  describe(`auth [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;

    before(async () => {
      // Tokens live 3 s: short for the expiry test, long enough for the calls each test makes on a busy machine.
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--token-ttl', '3'] }));
      api = new Api(server.url);
    });
    after(() => close());

    test('the first start prints an Org-API-Key with the recognisable prefix', () => {
      assert.match(server.org.apiKey, /^ck_live_[A-Za-z0-9_-]{40,}$/);
      assert.match(server.stdout, /First start: created the org "default"/);
    });

    test('exchange returns a token and an ISO expiry TTL seconds ahead', async () => {
      const before = Date.now();
      const r = await api.post('/v1/auth/exchange', {
        token: server.org.apiKey,
        body: { externalUserID: 'alice', displayName: 'Alice', email: 'a@example.com', tier: 'gold' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json).sort(), ['accessToken', 'expiresAt']);
      const expires = Date.parse(r.json.expiresAt);
      assert.ok(expires >= before + 3000 && expires <= Date.now() + 3000, r.json.expiresAt);
      assert.match(r.json.expiresAt, /Z$/);
      const member = await api.get('/v1/members/alice', { token: server.org.apiKey });
      assert.equal(member.status, 200);
      assert.equal(member.json.displayName, 'Alice');
      assert.equal(member.json.tier, 'gold');
    });

    test('a later exchange keeps profile fields it does not name', async () => {
      await api.memberToken(server.org.apiKey, 'keeper', { displayName: 'Kept', tier: 'silver' });
      await api.memberToken(server.org.apiKey, 'keeper', { tier: 'gold' });
      const member = await api.get('/v1/members/keeper', { token: server.org.apiKey });
      assert.equal(member.json.displayName, 'Kept');
      assert.equal(member.json.tier, 'gold');
    });

    test('a token past its TTL gets 401 TOKEN_EXPIRED with WWW-Authenticate', async () => {
      const token = await api.memberToken(server.org.apiKey, 'expiring');
      assert.equal((await api.get('/v1/conversations', { token })).status, 200);
      // The lifetime is what is tested: wait for the clock to pass the expiry the server signed into the token.
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { expms: number };
      await clockPast(claims.expms);
      const r = await api.get('/v1/conversations', { token });
      assert.equal(r.status, 401);
      assert.equal(errorCode(r), 'TOKEN_EXPIRED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    });

    test('missing, malformed and forged credentials are refused with their own codes', async () => {
      const good = await api.memberToken(server.org.apiKey, 'forger');
      const [h, p, s] = good.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      const forgedPayload = Buffer.from(JSON.stringify({ ...payload, sub: 'mem_other', ext: 'victim' })).toString(
        'base64url',
      );
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'UNAUTHORIZED'],
        [{ authorization: 'Basic abc' }, 'UNAUTHORIZED'],
        [{ authorization: 'Bearer' }, 'UNAUTHORIZED'],
        [{ authorization: 'Bearer not-a-jwt' }, 'TOKEN_INVALID'],
        [{ authorization: `Bearer ${h}.${forgedPayload}.${s}` }, 'TOKEN_INVALID'],
        [{ authorization: `Bearer ${h}.${p}.${'A'.repeat(43)}` }, 'TOKEN_INVALID'],
        [{ authorization: `Bearer ${good}x` }, 'TOKEN_INVALID'],
        [{ authorization: 'Bearer ck_live_doesnotexist' }, 'API_KEY_INVALID'],
      ];
      for (const [headers, code] of cases) {
        const r = await api.get('/v1/conversations', { headers });
        assert.equal(r.status, 401, JSON.stringify(headers));
        assert.equal(errorCode(r), code, JSON.stringify(headers));
        assert.ok(r.headers.get('x-request-id'));
      }
    });

    test("a token of another org's member does not open this org's data, and a re-signed one is refused", async () => {
      const other = await server.createOrg('other-org');
      const otherToken = await api.memberToken(other.apiKey, 'alice');
      const mine = await api.memberToken(server.org.apiKey, 'alice');
      const conversation = await api.openConversation(mine, { title: 'mine' });
      const r = await api.get(`/v1/conversations/${conversation}/messages`, { token: otherToken });
      assert.equal(errorCode(r), 'NOT_FOUND');
      // Claim org 1 in the header while signed with org 2's key: the signature does not verify.
      const [, p, s] = otherToken.split('.');
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: server.org.orgID })).toString(
        'base64url',
      );
      const wrong = await api.get('/v1/conversations', { token: `${header}.${p}.${s}` });
      assert.equal(errorCode(wrong), 'TOKEN_INVALID');
      // alg=none is never accepted.
      const none = Buffer.from(JSON.stringify({ alg: 'none', kid: server.org.orgID })).toString('base64url');
      assert.equal(errorCode(await api.get('/v1/conversations', { token: `${none}.${p}.` })), 'TOKEN_INVALID');
    });

    test('revoke-tokens stops every earlier token at once; a new exchange works', async () => {
      const t1 = await api.memberToken(server.org.apiKey, 'revokee');
      const t2 = await api.memberToken(server.org.apiKey, 'revokee');
      const r = await api.post('/v1/members/revokee/revoke-tokens', { token: server.org.apiKey });
      assert.equal(r.status, 200);
      assert.equal(r.json.ok, true);
      for (const t of [t1, t2])
        assert.equal(errorCode(await api.get('/v1/conversations', { token: t })), 'TOKEN_REVOKED');
      // Revocation has millisecond granularity: the new token is minted in a later millisecond than it.
      await clockPast(Date.now());
      const t3 = await api.memberToken(server.org.apiKey, 'revokee');
      assert.equal((await api.get('/v1/conversations', { token: t3 })).status, 200);
    });

    test('revocation survives a restart', async () => {
      const token = await api.memberToken(server.org.apiKey, 'revoked-before-restart');
      await api.post('/v1/members/revoked-before-restart/revoke-tokens', { token: server.org.apiKey });
      assert.equal(errorCode(await api.get('/v1/conversations', { token })), 'TOKEN_REVOKED');
      // A token that outlasts the restart needs the default TTL: a dedicated server.
      const db = await store.fresh();
      const s2 = await TestServer.start(db.url);
      try {
        const api2 = new Api(s2.url);
        const t = await api2.memberToken(s2.org.apiKey, 'm');
        await api2.post('/v1/members/m/revoke-tokens', { token: s2.org.apiKey });
        await s2.restart();
        const api3 = new Api(s2.url);
        assert.equal(errorCode(await api3.get('/v1/conversations', { token: t })), 'TOKEN_REVOKED');
      } finally {
        await s2.stop();
        await db.drop();
      }
    });

    test('a member token on a server-only route is 403 FORBIDDEN', async () => {
      const token = await api.memberToken(server.org.apiKey, 'nosy');
      const calls = [
        api.post('/v1/auth/exchange', { token, body: { externalUserID: 'x' } }),
        api.get('/v1/members/nosy', { token }),
        api.put('/v1/members/nosy', { token, body: {} }),
        api.delete('/v1/members/nosy', { token }),
        api.get('/v1/members', { token }),
        api.post('/v1/members/nosy/erase', { token }),
        api.post('/v1/members/nosy/revoke-tokens', { token }),
      ];
      for (const r of await Promise.all(calls)) {
        assert.equal(r.status, 403);
        assert.equal(errorCode(r), 'FORBIDDEN');
      }
    });

    test('PUT upserts a profile (fields left out keep their values) and is idempotent by itself', async () => {
      const first = await api.put('/v1/members/putter', {
        token: server.org.apiKey,
        body: { displayName: 'P', tier: 'gold' },
      });
      assert.equal(first.status, 201);
      const second = await api.put('/v1/members/putter', { token: server.org.apiKey, body: { displayName: 'P' } });
      assert.equal(second.status, 200);
      assert.equal(second.json.tier, 'gold');
      const third = await api.put('/v1/members/putter', { token: server.org.apiKey, body: { displayName: 'P' } });
      assert.equal(third.status, 200);
      assert.equal(third.json.displayName, 'P');
    });

    test('keys rotate without downtime: create a second key, revoke the first', async () => {
      const created = JSON.parse(
        (await cli(['keys', 'create', '--org', server.org.orgID, '--json'], server.databaseURL)).stdout,
      );
      assert.match(created.apiKey, /^ck_live_/);
      assert.equal((await api.memberToken(created.apiKey, 'rot')).split('.').length, 3);
      const listed = JSON.parse(
        (await cli(['keys', 'list', '--org', server.org.orgID, '--json'], server.databaseURL)).stdout,
      );
      assert.ok(listed.length >= 2);
      assert.ok(listed.every((k: { hint: string }) => !k.hint.includes(created.apiKey)));
      const firstID = listed.find((k: { keyID: string }) => k.keyID !== created.keyID).keyID;
      const other = await new Api(server.url).post('/v1/auth/exchange', {
        token: server.org.apiKey,
        body: { externalUserID: 'rot' },
      });
      assert.equal(other.status, 200);
      await cli(['keys', 'revoke', firstID, '--org', server.org.orgID], server.databaseURL);
      const refused = await api.post('/v1/auth/exchange', {
        token: server.org.apiKey,
        body: { externalUserID: 'rot' },
      });
      assert.equal(errorCode(refused), 'API_KEY_INVALID');
      server.org = { orgID: server.org.orgID, apiKey: created.apiKey };
      assert.equal(
        (await api.post('/v1/auth/exchange', { token: created.apiKey, body: { externalUserID: 'rot' } })).status,
        200,
      );
    });
  });
});

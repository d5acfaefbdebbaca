import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Api,
  cli,
  errorCode,
  firstAdmin,
  linkToken,
  newAgent,
  PASSWORD,
  RawStream,
  refreshCookie,
  setup,
  STORES,
  TestServer,
  withServer,
  type AgentSignIn,
} from './harness/index.js';

for (const store of STORES) {
  describe(`agents and sign-in [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let admin: AgentSignIn;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
      admin = await firstAdmin(api, server);
    });
    after(() => close());

    test('the first start prints a one-time link that sets the admin password and signs in, once', async () => {
      assert.equal(admin.agent.email, 'admin@localhost');
      assert.equal(admin.agent.role, 'admin');
      assert.equal(admin.response.json.agent.orgID, server.org.orgID);
      const me = await api.get('/v1/agents/me', { token: admin.token });
      assert.equal(me.status, 200);
      assert.equal(me.json.id, admin.agent.id);
      const token = linkToken(/Console: +(\S+)/.exec(server.stdout)![1]!);
      const again = await api.post('/v1/agent-auth/setup', { body: { token, password: PASSWORD } });
      assert.equal(again.status, 401);
      assert.equal(errorCode(again), 'SIGN_IN_LINK_INVALID');
      const signIn = await api.post('/v1/agent-auth/sign-in', {
        body: { email: 'ADMIN@localhost', password: PASSWORD },
      });
      assert.equal(signIn.status, 200, signIn.text);
    });

    test('a password under 12 characters is refused and the link stays unused', async () => {
      const r = await api.post('/v1/agents', { token: key, body: { email: 'short@club.example', name: 'Short' } });
      assert.equal(r.status, 201);
      const token = linkToken(r.json.signInLink);
      const bad = await api.post('/v1/agent-auth/setup', { body: { token, password: 'elevenchars' } });
      assert.equal(bad.status, 422);
      assert.equal(bad.json.error.field, 'password');
      assert.equal((await setup(api, token)).agent.email, 'short@club.example');
    });

    test('the refresh cookie is HttpOnly, SameSite=Strict, scoped to the refresh route, Secure off loopback', async () => {
      const r = await api.post('/v1/agent-auth/sign-in', { body: { email: 'admin@localhost', password: PASSWORD } });
      const set = r.headers.get('set-cookie')!;
      assert.match(set, /^concierge_refresh=ags_[^;]+; /);
      assert.match(set, /; HttpOnly/);
      assert.match(set, /; SameSite=Strict/);
      assert.match(set, /; Path=\/v1\/agent-auth(;|$)/);
      // The test reaches the server on 127.0.0.1 over http: no TLS to require.
      assert.doesNotMatch(set, /Secure/);
      const proxied = await api.post('/v1/agent-auth/sign-in', {
        body: { email: 'admin@localhost', password: PASSWORD },
        headers: { 'x-forwarded-proto': 'https' },
      });
      assert.match(proxied.headers.get('set-cookie')!, /; Secure/);
    });

    test('an unknown email and a wrong password get the same answer in comparable time', async () => {
      const attempt = async (email: string) => {
        const started = process.hrtime.bigint();
        const r = await api.post('/v1/agent-auth/sign-in', {
          body: { email, password: 'not the password at all' },
          headers: { 'x-forwarded-for': email },
        });
        return { r, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      };
      const unknown: number[] = [];
      const wrong: number[] = [];
      const agent = await newAgent(api, key, 'timing@club.example');
      for (let i = 0; i < 3; i++) {
        const a = await attempt(`nobody${i}@club.example`);
        const b = await attempt(agent.agent.email);
        assert.equal(a.r.status, 401);
        assert.equal(b.r.status, 401);
        const strip = (x: { error: Record<string, unknown> }) => ({ ...x.error, requestID: '' });
        assert.deepEqual(strip(a.r.json), strip(b.r.json));
        unknown.push(a.ms);
        wrong.push(b.ms);
      }
      // Both run the password KDF (tens of milliseconds); without the dummy hash an unknown email would answer in
      // about a millisecond. The bound is loose on purpose: a loaded machine jitters, the KDF does not vanish.
      assert.ok(Math.min(...unknown) > Math.min(...wrong) / 3, `unknown ${unknown} vs wrong ${wrong}`);
    });

    test('failed sign-ins are limited per email: the sixth is 429 with Retry-After, even with the right password', async () => {
      const agent = await newAgent(api, key, 'limited@club.example');
      for (let i = 0; i < 5; i++) {
        const r = await api.post('/v1/agent-auth/sign-in', {
          body: { email: agent.agent.email, password: `wrong password ${i}` },
        });
        assert.equal(r.status, 401);
      }
      const r = await api.post('/v1/agent-auth/sign-in', { body: { email: agent.agent.email, password: PASSWORD } });
      assert.equal(r.status, 429);
      assert.equal(errorCode(r), 'RATE_LIMITED');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
    });

    test('refresh rotates the cookie; the rotated one shown again revokes the session', async () => {
      const agent = await newAgent(api, key, 'rotate@club.example');
      const first = await api.post('/v1/agent-auth/refresh', { headers: { cookie: agent.cookie } });
      assert.equal(first.status, 200, first.text);
      const rotated = refreshCookie(first);
      assert.notEqual(rotated, agent.cookie);
      assert.equal((await api.get('/v1/agents/me', { token: first.json.accessToken })).status, 200);
      // The old cookie again: someone copied it. The session ends for both holders.
      const stolen = await api.post('/v1/agent-auth/refresh', { headers: { cookie: agent.cookie } });
      assert.equal(stolen.status, 401);
      assert.equal(errorCode(stolen), 'SESSION_INVALID');
      const me = await api.get('/v1/agents/me', { token: first.json.accessToken });
      assert.equal(errorCode(me), 'TOKEN_REVOKED');
      assert.equal((await api.post('/v1/agent-auth/refresh', { headers: { cookie: rotated } })).status, 401);
      assert.equal((await api.post('/v1/agent-auth/refresh')).status, 401);
    });

    test('a plain agent gets 403 on admin routes and on key-only routes; an admin manages agents', async () => {
      const plain = await newAgent(api, admin.token, 'plain@club.example');
      const forbidden = [
        ['GET', '/v1/agents', undefined],
        ['POST', '/v1/agents', { email: 'x@club.example', name: 'X' }],
        ['PATCH', `/v1/agents/${admin.agent.id}`, { disabled: true }],
        ['GET', `/v1/agents/${admin.agent.id}/sessions`, undefined],
        ['POST', '/v1/auth/exchange', { externalUserID: 'someone' }],
        ['GET', '/v1/members/someone', undefined],
        ['PUT', '/v1/members/someone', {}],
        ['DELETE', '/v1/members/someone', undefined],
        ['POST', '/v1/members/someone/revoke-tokens', undefined],
      ] as const;
      for (const [method, path, body] of forbidden) {
        const r = await api.call(method, path, { token: plain.token, ...(body !== undefined && { body }) });
        assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
        assert.equal(errorCode(r), 'FORBIDDEN');
      }
      const list = await api.get('/v1/agents', { token: admin.token });
      assert.equal(list.status, 200);
      assert.ok(list.json.data.some((a: { id: string }) => a.id === plain.agent.id));
      const promoted = await api.call('PATCH', `/v1/agents/${plain.agent.id}`, {
        token: admin.token,
        body: { role: 'admin', name: 'Plain no more' },
      });
      assert.equal(promoted.json.role, 'admin');
      // The role is read on every request: the same token now manages agents.
      assert.equal((await api.get('/v1/agents', { token: plain.token })).status, 200);
      const dup = await api.post('/v1/agents', { token: key, body: { email: 'PLAIN@club.example', name: 'Again' } });
      assert.equal(errorCode(dup), 'CONFLICT');
    });

    test('an agent acts as the concierge as themselves: author, reader and typist are the agent id', async () => {
      const agent = await newAgent(api, key, 'ann@club.example');
      const member = await api.memberToken(key, 'member-ann');
      const conv = await api.openConversation(member);
      const memberStream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${member}` });
      try {
        const sent = await api.post(`/v1/conversations/${conv}/messages`, {
          token: agent.token,
          body: { message: 'Booked.' },
        });
        assert.equal(sent.status, 200, sent.text);
        assert.equal(sent.json.message.authorID, agent.agent.id);
        const forged = await api.post(`/v1/conversations/${conv}/messages`, {
          token: agent.token,
          body: { message: 'as someone else', authorID: 'someone-else' },
        });
        assert.equal(forged.json.error.field, 'authorID');
        const read = await api.post(`/v1/conversations/${conv}/read`, {
          token: agent.token,
          body: { messageID: sent.json.message.id },
        });
        assert.equal(read.status, 200);
        assert.equal((await api.post(`/v1/conversations/${conv}/typing`, { token: agent.token })).status, 200);
        await memberStream.until(
          () => memberStream.events.some((e) => e.event === 'typing'),
          undefined,
          'the agent typing on the member stream',
        );
        const typing = JSON.parse(memberStream.events.find((e) => e.event === 'typing')!.data);
        assert.equal(typing.typistID, agent.agent.id);
        const readEvent = JSON.parse(memberStream.events.find((e) => e.event === 'read')!.data);
        assert.equal(readEvent.readerID, agent.agent.id);
        assert.equal(readEvent.reader, 'concierge');
      } finally {
        memberStream.close();
      }
    });

    test('disabling an agent refuses their token at once and ends their open stream', async () => {
      const agent = await newAgent(api, admin.token, 'leaver@club.example');
      const stream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${agent.token}` });
      assert.equal(stream.status, 200);
      const r = await api.call('PATCH', `/v1/agents/${agent.agent.id}`, {
        token: admin.token,
        body: { disabled: true },
      });
      assert.equal(r.status, 200);
      assert.notEqual(r.json.disabledAt, null);
      const me = await api.get('/v1/agents/me', { token: agent.token });
      assert.equal(me.status, 401);
      assert.equal(errorCode(me), 'TOKEN_REVOKED');
      await stream.waitForEnd();
      assert.equal((await api.post('/v1/agent-auth/refresh', { headers: { cookie: agent.cookie } })).status, 401);
      const signIn = await api.post('/v1/agent-auth/sign-in', {
        body: { email: agent.agent.email, password: PASSWORD },
      });
      assert.equal(errorCode(signIn), 'INVALID_CREDENTIALS');
    });

    test('sessions are listed and revocable one by one or everywhere; sign-out ends the session', async () => {
      const agent = await newAgent(api, key, 'sessions@club.example');
      const second = await api.post('/v1/agent-auth/sign-in', {
        body: { email: agent.agent.email, password: PASSWORD },
        headers: { 'user-agent': 'second browser' },
      });
      const list = await api.get(`/v1/agents/${agent.agent.id}/sessions`, { token: agent.token });
      assert.equal(list.json.data.length, 2);
      assert.equal(list.json.data.filter((s: { current: boolean }) => s.current).length, 1);
      assert.ok(list.json.data.some((s: { userAgent: string | null }) => s.userAgent === 'second browser'));
      const other = list.json.data.find((s: { current: boolean }) => !s.current).id as string;
      const one = await api.delete(`/v1/agent-sessions/${other}`, { token: agent.token });
      assert.deepEqual(one.json, { id: other, ok: true });
      assert.equal(errorCode(await api.get('/v1/agents/me', { token: second.json.accessToken })), 'TOKEN_REVOKED');
      assert.equal((await api.get('/v1/agents/me', { token: agent.token })).status, 200);
      const third = await api.post('/v1/agent-auth/sign-in', {
        body: { email: agent.agent.email, password: PASSWORD },
      });
      const out = await api.post('/v1/agent-auth/sign-out', { headers: { cookie: refreshCookie(third) } });
      assert.equal(out.status, 200);
      assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
      assert.equal(errorCode(await api.get('/v1/agents/me', { token: third.json.accessToken })), 'TOKEN_REVOKED');
      const all = await api.delete(`/v1/agents/${agent.agent.id}/sessions`, { token: key });
      assert.deepEqual(all.json, { ok: true, revoked: 1 });
      assert.equal(errorCode(await api.get('/v1/agents/me', { token: agent.token })), 'TOKEN_REVOKED');
    });

    test('the CLI creates, lists and disables agents and ends their sessions', async () => {
      const created = JSON.parse(
        (await cli(['agents', 'create', '--email', 'cli@club.example', '--name', 'Cli', '--json'], server.databaseURL))
          .stdout,
      );
      assert.equal(created.agent.role, 'agent');
      const agent = await setup(api, linkToken(created.signInLink));
      const listed = JSON.parse((await cli(['agents', 'list', '--json'], server.databaseURL)).stdout);
      assert.ok(listed.some((a: { email: string }) => a.email === 'cli@club.example'));
      const sessions = JSON.parse(
        (await cli(['agents', 'sessions', '--email', 'cli@club.example', '--json'], server.databaseURL)).stdout,
      );
      assert.equal(sessions.length, 1);
      await cli(['agents', 'disable', '--email', 'cli@club.example'], server.databaseURL);
      // Another process disabled the agent: the server reads the session on every request.
      assert.equal(errorCode(await api.get('/v1/agents/me', { token: agent.token })), 'TOKEN_REVOKED');
    });

    test('an agent disabled by another process loses their open stream within a heartbeat', async () => {
      // The CLI's signal cannot reach a SQLite server (another process): the heartbeat's check of agent streams
      // against the store is what ends the stream, as for a signal lost with a PostgreSQL LISTEN connection.
      const quick = await withServer(store, { args: ['--rate-limit', '0', '--heartbeat', '1'] });
      try {
        const api2 = new Api(quick.server.url);
        const agent = await newAgent(api2, quick.server.org.apiKey, 'gone@club.example');
        const stream = await RawStream.open(`${quick.server.url}/v1/stream`, {
          authorization: `Bearer ${agent.token}`,
        });
        assert.equal(stream.status, 200);
        await cli(['agents', 'disable', '--email', 'gone@club.example'], quick.server.databaseURL);
        await stream.waitForEnd();
      } finally {
        await quick.close();
      }
    });
  });
}

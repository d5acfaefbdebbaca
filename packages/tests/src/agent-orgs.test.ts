import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '@concierge/store';
import Database from 'better-sqlite3';
import {
  Api,
  cli,
  errorCode,
  linkToken,
  refreshCookie,
  setup,
  STORES,
  TestServer,
  withServer,
  type CallResult,
  type Org,
} from './harness/index.js';

/**
 * One person, several orgs (docs/auth.md, "Several orgs"; docs/design/agent-people.md): the same email as an agent
 * in two orgs signs in from the console to each, a password opens only the orgs it was set for, and nothing an
 * outsider sees tells which orgs, or how many, an email is in.
 */

const PW_A = 'first org password 1';
const PW_B = 'second org password 2';

/** Creates the agent in `org` through its Org-API-Key; answers the one-time link's token. */
async function addAgent(api: Api, org: Org, email: string): Promise<string> {
  const r = await api.post('/v1/agents', { token: org.apiKey, body: { email, name: email.split('@')[0] } });
  assert.equal(r.status, 201, r.text);
  return linkToken(r.json.signInLink);
}

/** What the console sends: email and password, no org. */
const signIn = (api: Api, email: string, password: string, orgID?: string) =>
  api.post('/v1/agent-auth/sign-in', { body: { email, password, ...(orgID !== undefined && { orgID }) } });

const orgIDs = (r: CallResult) => (r.json.orgs as Array<{ orgID: string }>).map((o) => o.orgID);

/** The conversation ids an agent token sees in its inbox. */
async function inbox(api: Api, token: string): Promise<string[]> {
  const r = await api.get('/v1/inbox', { token });
  assert.equal(r.status, 200, r.text);
  return (r.json.data as Array<{ conversation: { id: string } }>).map((i) => i.conversation.id).sort();
}

/** The sign-in KDF runs counted so far (the metric the server exposes on its metrics listener). */
async function kdfRuns(server: TestServer): Promise<number> {
  const text = await (await fetch(server.metricsURL)).text();
  const m = /^concierge_agent_password_kdf_runs_total\{route="sign-in"\} (\d+)$/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

for (const store of STORES) {
  describe(`the same email as an agent in several orgs [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let orgA: Org;
    let orgB: Org;
    let convA: string;
    let convB: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      orgA = server.org;
      orgB = await server.createOrg('Beta');
      convA = await api.openConversation(await api.memberToken(orgA.apiKey, 'member-of-a'));
      convB = await api.openConversation(await api.memberToken(orgB.apiKey, 'member-of-b'));
    });
    after(() => close());

    test('each org’s agent signs in as the console does (no org) and sees its own org only', async () => {
      await setup(api, await addAgent(api, orgA, 'ann@two.example'), PW_A);
      // Org B adds the same email later; its agent sets a password of its own.
      await setup(api, await addAgent(api, orgB, 'ann@two.example'), PW_B);

      const a = await signIn(api, 'ann@two.example', PW_A);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.agent.orgID, orgA.orgID);
      assert.deepEqual(orgIDs(a), [orgA.orgID]);
      assert.deepEqual(await inbox(api, a.json.accessToken), [convA]);

      const b = await signIn(api, 'ANN@two.example', PW_B);
      assert.equal(b.status, 200, b.text);
      assert.equal(b.json.agent.orgID, orgB.orgID);
      assert.deepEqual(orgIDs(b), [orgB.orgID]);
      assert.deepEqual(await inbox(api, b.json.accessToken), [convB]);

      // The refresh cookie resumes each in its own org.
      const again = await api.post('/v1/agent-auth/refresh', { headers: { cookie: refreshCookie(a) } });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json.agent.orgID, orgA.orgID);

      // `orgID` in the body still picks the org, and a password opens only the org it was set for.
      const named = await signIn(api, 'ann@two.example', PW_B, orgB.orgID);
      assert.equal(named.json.agent.orgID, orgB.orgID);
      const crossed = await signIn(api, 'ann@two.example', PW_B, orgA.orgID);
      assert.equal(crossed.status, 401);
      assert.equal(errorCode(crossed), 'INVALID_CREDENTIALS');
    });

    test('one password set in both orgs: one sign-in lists both, and switching opens the other inbox', async () => {
      await setup(api, await addAgent(api, orgA, 'bob@two.example'), PW_A);
      const inB = await setup(api, await addAgent(api, orgB, 'bob@two.example'), PW_A);
      // The setup answer already offers both: the person typed the password that opens the other org.
      assert.deepEqual(orgIDs(inB.response), [orgA.orgID, orgB.orgID]);

      const first = await signIn(api, 'bob@two.example', PW_A);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.agent.orgID, orgA.orgID, 'the oldest membership first');
      assert.deepEqual(first.json.orgs, [
        { orgID: orgA.orgID, orgName: 'default', agentID: first.json.agent.id, role: 'agent' },
        { orgID: orgB.orgID, orgName: 'Beta', agentID: inB.agent.id, role: 'agent' },
      ]);

      const switched = await api.post('/v1/agent-auth/switch', {
        token: first.json.accessToken,
        body: { orgID: orgB.orgID },
      });
      assert.equal(switched.status, 200, switched.text);
      assert.equal(switched.json.agent.id, inB.agent.id);
      assert.deepEqual(orgIDs(switched), [orgA.orgID, orgB.orgID]);
      assert.deepEqual(await inbox(api, switched.json.accessToken), [convB]);
      // The session switched from is over: its token and its cookie are refused; the new cookie resumes org B.
      const old = await api.get('/v1/inbox', { token: first.json.accessToken });
      assert.equal(old.status, 401);
      assert.equal(errorCode(old), 'TOKEN_REVOKED');
      const oldCookie = await api.post('/v1/agent-auth/refresh', { headers: { cookie: refreshCookie(first) } });
      assert.equal(oldCookie.status, 401);
      const resumed = await api.post('/v1/agent-auth/refresh', { headers: { cookie: refreshCookie(switched) } });
      assert.equal(resumed.status, 200, resumed.text);
      assert.equal(resumed.json.agent.orgID, orgB.orgID);

      // Back again.
      const back = await api.post('/v1/agent-auth/switch', {
        token: resumed.json.accessToken,
        body: { orgID: orgA.orgID },
      });
      assert.equal(back.status, 200, back.text);
      assert.deepEqual(await inbox(api, back.json.accessToken), [convA]);

      // A disabled membership is neither listed nor reachable.
      const disabled = await api.patch(`/v1/agents/${inB.agent.id}`, { token: orgB.apiKey, body: { disabled: true } });
      assert.equal(disabled.status, 200, disabled.text);
      const now = await signIn(api, 'bob@two.example', PW_A);
      assert.deepEqual(orgIDs(now), [orgA.orgID]);
      const refused = await api.post('/v1/agent-auth/switch', {
        token: now.json.accessToken,
        body: { orgID: orgB.orgID },
      });
      assert.equal(refused.status, 404);
    });

    test('switching is refused to an org whose agent has another password, one the email is not in, or a non-agent', async () => {
      const orgC = await server.createOrg('Gamma');
      const a = await signIn(api, 'ann@two.example', PW_A);
      for (const orgID of [orgB.orgID, orgC.orgID, 'org_unknown']) {
        const r = await api.post('/v1/agent-auth/switch', { token: a.json.accessToken, body: { orgID } });
        assert.equal(r.status, 404, r.text);
        assert.equal(errorCode(r), 'NOT_FOUND');
        assert.equal(r.json.error.message, 'You are not an agent of this org with this password.');
      }
      const byKey = await api.post('/v1/agent-auth/switch', { token: orgA.apiKey, body: { orgID: orgB.orgID } });
      assert.equal(byKey.status, 403);
      const anonymous = await api.post('/v1/agent-auth/switch', { body: { orgID: orgB.orgID } });
      assert.equal(anonymous.status, 401);
    });

    test('whoever holds another org’s link for the email sets that org’s password only, and never reaches the first', async () => {
      await setup(api, await addAgent(api, orgA, 'dave@two.example'), PW_A);
      // Org B's admin creates an agent with Dave's email and opens its link themselves.
      const held = await setup(api, await addAgent(api, orgB, 'dave@two.example'), 'chosen by the admin of B');
      // The answer is the one any new email's setup gets: one org, nothing about org A.
      assert.deepEqual(orgIDs(held.response), [orgB.orgID]);
      assert.deepEqual(Object.keys(held.response.json).sort(), ['accessToken', 'agent', 'expiresAt', 'limits', 'orgs']);
      const toA = await api.post('/v1/agent-auth/switch', { token: held.token, body: { orgID: orgA.orgID } });
      assert.equal(toA.status, 404);
      assert.deepEqual(orgIDs(await signIn(api, 'dave@two.example', 'chosen by the admin of B')), [orgB.orgID]);
      assert.equal((await signIn(api, 'dave@two.example', PW_A)).json.agent.orgID, orgA.orgID);

      // Later Dave gets a new link for org B and chooses his own password: the sessions opened with the old one end,
      // so the admin's session cannot ride the now shared password into org A.
      const link = JSON.parse(
        (
          await cli(
            ['agents', 'link', '--email', 'dave@two.example', '--org', orgB.orgID, '--json'],
            server.databaseURL,
          )
        ).stdout,
      ).signInLink as string;
      const mine = await setup(api, linkToken(link), PW_A);
      assert.deepEqual(orgIDs(mine.response), [orgA.orgID, orgB.orgID]);
      const stale = await api.post('/v1/agent-auth/switch', { token: held.token, body: { orgID: orgA.orgID } });
      assert.equal(stale.status, 401);
      assert.equal(errorCode(stale), 'TOKEN_REVOKED');
      assert.equal((await api.post('/v1/agent-auth/refresh', { headers: { cookie: held.cookie } })).status, 401);
    });

    test('an unknown email, a wrong password and an email in 0, 1 or 2 orgs answer alike, after one KDF run each', async () => {
      await addAgent(api, orgA, 'zero@two.example'); // an agent whose link was never used: in no org yet
      await setup(api, await addAgent(api, orgA, 'one@two.example'), PW_A);
      await setup(api, await addAgent(api, orgA, 'two@two.example'), PW_A);
      await setup(api, await addAgent(api, orgB, 'two@two.example'), PW_A);
      const attempts: Array<[string, () => Promise<CallResult>]> = [
        ['unknown email', () => signIn(api, 'nobody@two.example', PW_A)],
        ['email in no org yet', () => signIn(api, 'zero@two.example', PW_A)],
        ['email in one org, wrong password', () => signIn(api, 'one@two.example', PW_B)],
        ['email in two orgs, wrong password', () => signIn(api, 'two@two.example', PW_B)],
        ['email in two orgs, wrong password, an org named', () => signIn(api, 'two@two.example', PW_B, orgB.orgID)],
        ['right password, an org the email is not in', () => signIn(api, 'one@two.example', PW_A, orgB.orgID)],
      ];
      const seen = new Set<string>();
      for (const [what, attempt] of attempts) {
        const before = await kdfRuns(server);
        const r = await attempt();
        assert.equal((await kdfRuns(server)) - before, 1, `${what}: one KDF run`);
        assert.equal(r.headers.get('set-cookie'), null, what);
        const { requestID: _id, ...error } = r.json.error as Record<string, unknown>;
        const headers = [...r.headers.keys()].filter((h) => !['date', 'x-request-id'].includes(h)).sort();
        seen.add(JSON.stringify({ status: r.status, error, headers }));
      }
      assert.equal(seen.size, 1, [...seen].join('\n'));
      const [only] = [...seen].map((s) => JSON.parse(s) as { status: number; error: { code: string } });
      assert.equal(only!.status, 401);
      assert.equal(only!.error.code, 'INVALID_CREDENTIALS');
      // And a right password costs the same one run, in one org or two.
      for (const email of ['one@two.example', 'two@two.example']) {
        const before = await kdfRuns(server);
        assert.equal((await signIn(api, email, PW_A)).status, 200);
        assert.equal((await kdfRuns(server)) - before, 1);
      }
    });

    test('org B adding the email never locks org A’s agent out; the failure limit counts the email, whatever org', async () => {
      await setup(api, await addAgent(api, orgA, 'eve@two.example'), PW_A);
      await addAgent(api, orgB, 'eve@two.example'); // never set up
      // More sign-ins than the five failures the email may have: each one signs in.
      for (let i = 0; i < 7; i++) {
        const r = await signIn(api, 'eve@two.example', PW_A);
        assert.equal(r.status, 200, `sign-in ${i + 1}: ${r.text}`);
        assert.equal(r.json.agent.orgID, orgA.orgID);
      }
      // The limit is the person's: naming another org gives a guesser no budget of its own.
      for (let i = 0; i < 5; i++) assert.equal((await signIn(api, 'eve@two.example', PW_B, orgB.orgID)).status, 401);
      const locked = await signIn(api, 'eve@two.example', PW_A);
      assert.equal(locked.status, 429);
      assert.equal(errorCode(locked), 'RATE_LIMITED');
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
    });
  });
}

/** The password hash an agent's row holds, read from the database itself. */
async function storedHash(store: 'sqlite' | 'postgres', url: string, agentID: string): Promise<string> {
  if (store === 'sqlite') {
    const raw = new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      return (raw.prepare('SELECT password_hash FROM agents WHERE id = ?').get(agentID) as { password_hash: string })
        .password_hash;
    } finally {
      raw.close();
    }
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT password_hash FROM agents WHERE id = $1', [agentID])).rows[0].password_hash;
  } finally {
    await client.end();
  }
}

/** scrypt as the server stores it, with a salt of the test's choosing: a password set before the email's KDF. */
function legacyHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return `scrypt$32768$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Two orgs, an email in both with different passwords (set before the email's KDF), and an email in one. */
const LEGACY_ROWS = (secret: string) => `
  INSERT INTO orgs (id, name, signing_secret, created_at, event_seq)
    VALUES ('org_legacya', 'Legacy A', ${secret}, '2026-01-01T00:00:00.000Z', 0),
           ('org_legacyb', 'Legacy B', ${secret}, '2026-01-01T00:00:00.000Z', 0);
  INSERT INTO agents (id, org_id, email, name, role, password_hash, created_at, disabled_at)
    VALUES ('agt_pata', 'org_legacya', 'pat@legacy.example', 'Pat', 'admin', '${legacyHash(PW_A)}',
            '2026-02-01T00:00:00.000Z', NULL),
           ('agt_patb', 'org_legacyb', 'pat@legacy.example', 'Pat', 'agent', '${legacyHash(PW_B)}',
            '2026-03-01T00:00:00.000Z', NULL),
           ('agt_solo', 'org_legacya', 'solo@legacy.example', 'Solo', 'agent', '${legacyHash(PW_B)}',
            '2026-02-01T00:00:00.000Z', NULL),
           ('agt_new', 'org_legacya', 'new@legacy.example', 'New', 'agent', NULL, '2026-02-01T00:00:00.000Z', NULL);
`;

for (const store of STORES) {
  describe(`migration: one KDF per agent email [${store.name}]`, () => {
    test('every existing password keeps working; an email in two orgs signs in without an org to its oldest', async () => {
      const migrations = store.name === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS;
      const ours = migrations.findIndex((m) => m.includes('CREATE TABLE IF NOT EXISTS agent_people'));
      assert.ok(ours > 0);
      const db = await store.fresh();
      try {
        // A database at the version before ours, holding agents as that release left them.
        if (store.name === 'sqlite') {
          const raw = new Database(db.url.slice('sqlite:'.length));
          raw.pragma('journal_mode = WAL');
          for (const sql of migrations.slice(0, ours)) raw.exec(sql);
          raw.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
          raw.exec(LEGACY_ROWS('randomblob(32)'));
          raw.pragma(`user_version = ${ours}`);
          raw.close();
        } else {
          const pg = (await import('pg')).default;
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          await client.query(
            'CREATE TABLE concierge_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
          );
          for (const [i, sql] of migrations.slice(0, ours).entries()) {
            await client.query(sql);
            await client.query('INSERT INTO concierge_migrations (version) VALUES ($1)', [i + 1]);
          }
          await client.query(`INSERT INTO meta (key, value) VALUES ('server_secret', $1)`, [randomBytes(32)]);
          await client.query(LEGACY_ROWS(`'\\x${randomBytes(32).toString('hex')}'::bytea`));
          await client.end();
        }
        const server = await TestServer.start(db.url, { args: ['--rate-limit', '0'] });
        try {
          const api = new Api(server.url);
          // An email in one org: as before.
          const solo = await signIn(api, 'solo@legacy.example', PW_B);
          assert.equal(solo.status, 200, solo.text);
          assert.deepEqual(orgIDs(solo), ['org_legacya']);
          // An email in two orgs with two passwords: the oldest membership's password signs in without an org…
          const pat = await signIn(api, 'pat@legacy.example', PW_A);
          assert.equal(pat.status, 200, pat.text);
          assert.equal(pat.json.agent.id, 'agt_pata');
          assert.deepEqual(orgIDs(pat), ['org_legacya']);
          // …and the other one, whose salt is not the email's, still signs in with its org, as it did before.
          assert.equal((await signIn(api, 'pat@legacy.example', PW_B)).status, 401);
          const patB = await signIn(api, 'pat@legacy.example', PW_B, 'org_legacyb');
          assert.equal(patB.status, 200, patB.text);
          assert.equal(patB.json.agent.id, 'agt_patb');
          // Its next password is hashed with the email's KDF: the same one as in org A opens both.
          const link = JSON.parse(
            (await cli(['agents', 'link', '--email', 'pat@legacy.example', '--org', 'org_legacyb', '--json'], db.url))
              .stdout,
          ).signInLink as string;
          await setup(api, linkToken(link), PW_A);
          const both = await signIn(api, 'pat@legacy.example', PW_A);
          assert.deepEqual(orgIDs(both), ['org_legacya', 'org_legacyb']);
          // An agent who had no password yet sets one as any new agent does.
          const fresh = JSON.parse(
            (await cli(['agents', 'link', '--email', 'new@legacy.example', '--json'], db.url)).stdout,
          ).signInLink as string;
          await setup(api, linkToken(fresh), PW_A);
          assert.equal((await signIn(api, 'new@legacy.example', PW_A)).status, 200);
          // A new password is hashed at the server's cost (--password-cost, which the test run lowers); a stored
          // hash keeps the parameters it was made with, and still signs in.
          const cost = 2 ** Number(process.env.CONCIERGE_PASSWORD_COST ?? '15');
          assert.match(await storedHash(store.name, db.url, 'agt_new'), new RegExp(`^scrypt\\$${cost}\\$8\\$1\\$`));
          assert.match(await storedHash(store.name, db.url, 'agt_solo'), /^scrypt\$32768\$8\$1\$/);
        } finally {
          await server.stop();
        }
      } finally {
        await db.drop();
      }
    });
  });
}

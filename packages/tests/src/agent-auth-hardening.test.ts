import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  Api,
  errorCode,
  firstAdmin,
  linkToken,
  newAgent,
  PASSWORD,
  refreshCookie,
  STORES,
  until,
  withServer,
  type CallResult,
  type TestServer,
} from './harness/index.js';

/**
 * Agent sign-in under attack: simultaneous guesses cannot overrun the failure limit, a flood of sign-ins or setups
 * costs a bounded number of password hashes (counted on /metrics, never timed), and the refresh cookie's routes
 * take requests from the server's own origin only. See docs/auth.md, "Agents".
 */

/** docs/auth.md: failures allowed per email, and per client address, in a 15-minute window. */
const FAILURES_PER_EMAIL = 5;
const FAILURES_PER_IP = 20;

/** A sample of /metrics: a counter or gauge by name and labels, 0 while a labelled series was never touched. */
async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(server.metricsURL)).text();
  const escaped = `${name}${labels === '' ? '' : `{${labels}}`}`.replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  if (m === null && labels === '') throw new Error(`no metric ${name} in:\n${text}`);
  return Number(m?.[1] ?? 0);
}

const hashes = (server: TestServer) => metric(server, 'concierge_password_hashes_total');
const refused = (server: TestServer, reason: string) =>
  metric(server, 'concierge_password_refused_before_hash_total', `reason="${reason}"`);

function assertRateLimited(r: CallResult, what: string): void {
  assert.equal(r.status, 429, `${what}: ${r.status} ${r.text}`);
  assert.equal(errorCode(r), 'RATE_LIMITED', what);
  assert.ok(Number(r.headers.get('retry-after')) >= 1, `${what}: Retry-After ${r.headers.get('retry-after')}`);
}

function assertBusy(r: CallResult, what: string): void {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(errorCode(r), 'UNAVAILABLE', what);
  assert.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
}

const signIn = (api: Api, email: string, password: string, headers: Record<string, string> = {}) =>
  api.post('/v1/agent-auth/sign-in', { body: { email, password }, headers });

for (const store of STORES) {
  describe(`agent sign-in hardening [${store.name}]`, () => {
    test('60 simultaneous guesses for one email hash at most 5 passwords; the rest, the right password too, are 429 at once', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      try {
        const api = new Api(server.url);
        const admin = await firstAdmin(api, server);
        const agent = await newAgent(api, admin.token, 'raced@club.example');
        const hashesBefore = await hashes(server);
        const refusedBefore = await refused(server, 'rate_limited');

        let answered = 0;
        let answered429 = 0;
        const guesses = Array.from({ length: 59 }, (_, i) =>
          signIn(api, agent.agent.email, `wrong password ${i}`).then((r) => {
            answered++;
            if (r.status === 429) answered429++;
            return r;
          }),
        );
        // The right password goes last: once every guess beyond the limit has been turned away, while the
        // admitted ones may still be hashing (or once all are answered, when the limit did not hold).
        await until(
          () => answered429 >= 59 - FAILURES_PER_EMAIL || answered === 59,
          'the guesses beyond the limit refused',
        );
        const right = await signIn(api, agent.agent.email, PASSWORD);
        const answers = await Promise.all(guesses);

        assertRateLimited(right, 'the right password while the email is locked');
        const checked = answers.filter((r) => r.status === 401);
        checked.forEach((r) => assert.equal(errorCode(r), 'INVALID_CREDENTIALS'));
        assert.equal(checked.length, FAILURES_PER_EMAIL, 'guesses whose password was checked');
        answers.filter((r) => r.status !== 401).forEach((r, i) => assertRateLimited(r, `guess ${i}`));
        assert.equal((await hashes(server)) - hashesBefore, FAILURES_PER_EMAIL, 'password hashes computed');
        assert.equal(
          (await refused(server, 'rate_limited')) - refusedBefore,
          60 - FAILURES_PER_EMAIL,
          'refused before any hash',
        );
      } finally {
        await close();
      }
    });

    test('150 made-up setup links from one address hash nothing, count as failures, then are 429, and so are its sign-ins', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      try {
        const api = new Api(server.url);
        const hashesBefore = await hashes(server);
        const setups = await Promise.all(
          Array.from({ length: 150 }, (_, i) =>
            api.post('/v1/agent-auth/setup', { body: { token: `made-up-link-${i}`, password: PASSWORD } }),
          ),
        );
        const bad = setups.filter((r) => r.status === 401);
        bad.forEach((r) => assert.equal(errorCode(r), 'SIGN_IN_LINK_INVALID'));
        assert.equal(bad.length, FAILURES_PER_IP, 'setups whose link was looked up');
        setups.filter((r) => r.status !== 401).forEach((r, i) => assertRateLimited(r, `setup ${i}`));
        assert.equal(await hashes(server), hashesBefore, 'no password hashed for a link that does not exist');
        assert.equal(await refused(server, 'bad_link'), FAILURES_PER_IP);
        assert.equal(await refused(server, 'rate_limited'), 150 - FAILURES_PER_IP);

        // The address's failures are one count: its sign-ins are refused too, before any hash.
        assertRateLimited(await signIn(api, 'admin@localhost', PASSWORD), 'a sign-in from the same address');
        assert.equal(await hashes(server), hashesBefore);
      } finally {
        await close();
      }
    });

    test('past --password-hash-queue a sign-in or setup is 503 UNAVAILABLE before any hash, counts nothing and spends no link; a static console file answers meanwhile', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'concierge-fault-'));
      // Fault injection (password-worker.ts): while this file exists, the password thread starts no hash.
      const hold = join(dir, 'hold-hashes');
      const { server, close } = await withServer(store, {
        args: ['--rate-limit', '0', '--password-hash-queue', '2'],
        env: { CONCIERGE_FAULT_PASSWORD_HOLD: hold },
      });
      try {
        const api = new Api(server.url);
        const admin = await firstAdmin(api, server);
        const other = await newAgent(api, admin.token, 'other@club.example');
        const created = await api.post('/v1/agents', {
          token: admin.token,
          body: { email: 'later@club.example', name: 'Later' },
        });
        assert.equal(created.status, 201, created.text);
        const page = await api.get('/console/');
        const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
        assert.ok(script !== undefined, `no script in the console page (is the console built?): ${page.text}`);
        const hashesBefore = await hashes(server);

        closeSync(openSync(hold, 'w'));
        const held = [signIn(api, 'admin@localhost', PASSWORD), signIn(api, 'admin@localhost', PASSWORD)];
        await until(
          async () => (await metric(server, 'concierge_password_hash_queue')) === 2,
          'two hashes running or waiting',
        );

        // More attempts than the email's failure limit: each refused for the queue, none counted as a failure.
        for (let i = 0; i <= FAILURES_PER_EMAIL; i++)
          assertBusy(await signIn(api, other.agent.email, PASSWORD), `sign-in ${i} past the queue`);
        const token = linkToken(created.json.signInLink);
        assertBusy(await api.post('/v1/agent-auth/setup', { body: { token, password: PASSWORD } }), 'setup');
        assert.equal(await refused(server, 'queue_full'), FAILURES_PER_EMAIL + 2);

        // The files of the console come from disk while the hashes wait: scrypt is not on the thread pool they need.
        const asset = await api.get(script);
        assert.equal(asset.status, 200);
        assert.equal((await api.get('/healthz')).status, 200);
        assert.equal(await hashes(server), hashesBefore, 'nothing hashed while held');
        assert.equal(await metric(server, 'concierge_password_hash_queue'), 2, 'the queue held its bound');

        rmSync(hold);
        for (const r of await Promise.all(held)) assert.equal(r.status, 200, r.text);
        // The refused attempts did not count, and the refused setup did not spend its link.
        assert.equal((await signIn(api, other.agent.email, PASSWORD)).status, 200);
        const later = await api.post('/v1/agent-auth/setup', { body: { token, password: PASSWORD } });
        assert.equal(later.status, 200, later.text);
        assert.equal((await hashes(server)) - hashesBefore, 4);
        await until(
          async () => (await metric(server, 'concierge_password_hash_queue')) === 0,
          'the hash queue empty again',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await close();
      }
    });

    test('refresh and sign-out refuse another origin with 403 FORBIDDEN and leave the session alone; the own origin and non-browser clients pass', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      try {
        const api = new Api(server.url);
        const own = new URL(server.url).origin;
        const port = new URL(server.url).port;
        let cookie = (await firstAdmin(api, server)).cookie;
        const refresh = (headers: Record<string, string>) =>
          api.post('/v1/agent-auth/refresh', { headers: { cookie, ...headers } });
        const signOut = (headers: Record<string, string>) =>
          api.post('/v1/agent-auth/sign-out', { headers: { cookie, ...headers } });

        const foreign: Array<[string, Record<string, string>]> = [
          ['another site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
          ['another site, Origin only', { origin: 'https://evil.example' }],
          ['another port of the same host', { origin: `http://127.0.0.1:${Number(port) === 1 ? 2 : 1}` }],
          ['another origin of the same site', { origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-site' }],
          ['Fetch metadata only', { 'sec-fetch-site': 'cross-site' }],
          ['an opaque origin', { origin: 'null' }],
          ['a plain-http page to a server behind TLS', { origin: own, 'x-forwarded-proto': 'https' }],
        ];
        for (const [what, headers] of foreign) {
          for (const [route, call] of [
            ['refresh', refresh],
            ['sign-out', signOut],
          ] as const) {
            const r = await call(headers);
            assert.equal(r.status, 403, `${route}, ${what}: ${r.status} ${r.text}`);
            assert.equal(errorCode(r), 'FORBIDDEN', `${route}, ${what}`);
            assert.equal(r.headers.get('set-cookie'), null, `${route}, ${what}: the cookie is left alone`);
          }
        }

        // The session survived every refused call: the console's own origin refreshes it.
        const fromConsole = await refresh({ origin: own, 'sec-fetch-site': 'same-origin' });
        assert.equal(fromConsole.status, 200, fromConsole.text);
        cookie = refreshCookie(fromConsole);
        // A client with no Origin and no Fetch metadata is no browser page: a CLI or script holding the cookie.
        const fromScript = await refresh({});
        assert.equal(fromScript.status, 200, fromScript.text);
        cookie = refreshCookie(fromScript);
        assert.equal((await signOut({ origin: own, 'sec-fetch-site': 'same-origin' })).status, 200);
        const after = await refresh({});
        assert.equal(after.status, 401);
        assert.equal(errorCode(after), 'SESSION_INVALID');
      } finally {
        await close();
      }
    });

    test('with --public-url, that origin may use the cookie routes too (a proxy in front rewrites Host)', async () => {
      const { server, close } = await withServer(store, {
        args: ['--rate-limit', '0', '--public-url', 'https://concierge.example/base'],
      });
      try {
        const api = new Api(server.url);
        const { cookie } = await firstAdmin(api, server);
        const ok = await api.post('/v1/agent-auth/refresh', {
          headers: { cookie, origin: 'https://concierge.example', 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(ok.status, 200, ok.text);
        const other = await api.post('/v1/agent-auth/refresh', {
          headers: { cookie: refreshCookie(ok), origin: 'https://other.concierge.example' },
        });
        assert.equal(other.status, 403);
      } finally {
        await close();
      }
    });
  });
}

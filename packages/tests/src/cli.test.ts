import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Api, CLI, cli, STORES, TestServer } from './harness/index.js';

const run = promisify(execFile);

async function fails(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`expected ${args.join(' ')} to fail`);
}

describe('the concierge CLI', () => {
  test('--help lists every command and option with its environment variable', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    for (const s of [
      'serve',
      'migrate',
      'orgs create',
      'keys revoke',
      '--token-ttl',
      'CONCIERGE_TOKEN_TTL_SECONDS',
      '--rate-limit',
      'PORT',
    ])
      assert.ok(stdout.includes(s), s);
  });

  test('bad option values are refused with a clear message, not a stack trace', async () => {
    for (const [args, env, want] of [
      [['serve', '--port', 'eighty'], {}, /--port: expected a whole number/],
      [['serve', '--token-ttl', '0'], {}, /--token-ttl: expected a positive number/],
      [['serve'], { CONCIERGE_TOKEN_TTL_SECONDS: '-5' }, /CONCIERGE_TOKEN_TTL_SECONDS: expected a positive number/],
      [['serve', '--database', 'mysql://x'], {}, /unsupported database URL/],
      [['frobnicate'], {}, /unknown command/],
      [['serve', '--no-such-flag'], {}, /Unknown option/],
      [['serve', '--password-cost', '9'], {}, /--password-cost: expected 10 to 20/],
    ] as const) {
      const r = await fails([...args], { ...env });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  for (const store of STORES) {
    test(`orgs and keys [${store.name}]`, async () => {
      const db = await store.fresh();
      try {
        const org = JSON.parse((await cli(['orgs', 'create', 'Club', '--json'], db.url)).stdout);
        assert.match(org.orgID, /^org_/);
        assert.match(org.apiKey, /^ck_live_/);
        const orgs = JSON.parse((await cli(['orgs', 'list', '--json'], db.url)).stdout);
        assert.deepEqual(
          orgs.map((o: { name: string }) => o.name),
          ['Club'],
        );
        // With one org, --org may be left out.
        const key = JSON.parse((await cli(['keys', 'create', '--json'], db.url)).stdout);
        const keys = JSON.parse((await cli(['keys', 'list', '--json'], db.url)).stdout);
        assert.equal(keys.length, 2);
        assert.ok(keys.every((k: { revokedAt: null }) => k.revokedAt === null));
        await cli(['keys', 'revoke', key.keyID], db.url);
        const after = JSON.parse((await cli(['keys', 'list', '--json'], db.url)).stdout);
        assert.ok(after.find((k: { keyID: string }) => k.keyID === key.keyID).revokedAt);
        const again = await fails(['keys', 'revoke', key.keyID, '--database', db.url]);
        assert.match(again.stderr, /no active key/);
        // A server on a database that already has an org prints no banner and serves the CLI-made key.
        const server = await TestServer.start(db.url);
        try {
          assert.doesNotMatch(server.stdout, /First start/);
          const api = new Api(server.url);
          assert.equal(
            (await api.post('/v1/auth/exchange', { token: org.apiKey, body: { externalUserID: 'm' } })).status,
            200,
          );
          assert.equal(
            (await api.post('/v1/auth/exchange', { token: key.apiKey, body: { externalUserID: 'm' } })).status,
            401,
          );
        } finally {
          await server.stop();
        }
        await cli(['orgs', 'create', 'Second', '--json'], db.url);
        const ambiguous = await fails(['keys', 'list', '--database', db.url]);
        assert.match(ambiguous.stderr, /name one with --org/);
        assert.match((await cli(['migrate'], db.url)).stdout, /migrations applied/);
      } finally {
        await db.drop();
      }
    });
  }
});

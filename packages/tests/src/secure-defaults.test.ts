import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Api, CLI, RawStream } from './harness/index.js';

const run = promisify(execFile);

/**
 * Secure defaults for an operator: what `concierge serve` does when started the way a newcomer starts
 * it (no --host, a plain path), and what it does when the start goes wrong (the first Org-API-Key must never be
 * lost to a bad option or a busy port).
 */

interface Started {
  stdout: string;
  stderr: string;
  url: string;
  stop(): Promise<void>;
}

/** `concierge serve` with exactly these arguments (the harness would add --host): resolves once listening. */
async function serve(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /concierge listening on (http:\/\/\S+)/.exec(stdout);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout}\n${stderr}`)));
  });
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    url,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** `concierge serve` expected to fail: its exit code and output. */
async function serveFails(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await run(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 60_000 });
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  throw new Error('expected serve to fail');
}

async function orgCount(database: string): Promise<number> {
  const { stdout } = await run(process.execPath, [CLI, 'orgs', 'list', '--json', '--database', database], {
    encoding: 'utf8',
  });
  return (JSON.parse(stdout) as unknown[]).length;
}

describe('secure defaults', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'concierge-defaults-'));
    dirs.push(dir);
    return join(dir, 'data', 'concierge.db');
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('with no --host the server listens on loopback only, and says so; a plain path is a SQLite database', async () => {
    const path = fresh();
    const s = await serve(['--port', '0', '--metrics-port', '0', '--database', path, '--log-level', 'warn']);
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(s.stdout, /Org-API-Key: ck_live_/);
      assert.match(s.stdout, /concierge metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    } finally {
      await s.stop();
    }
    assert.equal(await orgCount(path), 1, 'the plain path works for the other commands too');
  });

  test('a bad option stops the start before the first org is made, so the banner is never lost', async () => {
    const path = fresh();
    for (const bad of [
      ['--log-level', 'loud'],
      ['--port', '99999'],
      ['--metrics-port', 'x'],
    ]) {
      const r = await serveFails(['--port', '0', '--metrics-port', '0', '--database', path, ...bad]);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^concierge: ${bad[0]}`));
      assert.doesNotMatch(r.stdout, /Org-API-Key/);
    }
    const s = await serve(['--port', '0', '--metrics-port', '0', '--database', path, '--log-level', 'warn']);
    try {
      assert.match(s.stdout, /First start: created the org "default"/);
    } finally {
      await s.stop();
    }
  });

  test('a busy port (API or metrics) fails the start before the first org is made', async () => {
    const path = fresh();
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const busy = String((blocker.address() as AddressInfo).port);
    try {
      for (const args of [
        ['--port', busy, '--metrics-port', '0'],
        ['--port', '0', '--metrics-port', busy],
      ]) {
        const r = await serveFails([...args, '--database', path, '--log-level', 'warn']);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /EADDRINUSE|address already in use/i);
        assert.doesNotMatch(r.stdout, /Org-API-Key/);
        assert.equal(await orgCount(path), 0);
      }
    } finally {
      blocker.close();
    }
    const s = await serve(['--port', '0', '--metrics-port', '0', '--database', path, '--log-level', 'warn']);
    try {
      assert.match(s.stdout, /Org-API-Key: ck_live_/);
    } finally {
      await s.stop();
    }
  });

  test('no credential reaches a log line, even at trace level and nested in what is logged', async () => {
    const path = fresh();
    const s = await serve(['--port', '0', '--metrics-port', '0', '--database', path, '--log-level', 'trace']);
    const secrets: string[] = [];
    try {
      const key = /Org-API-Key: (ck_live_\S+)/.exec(s.stdout)![1]!;
      const banner = s.stdout.length;
      secrets.push(key);
      const api = new Api(s.url);
      const token = await api.memberToken(key, 'logged', { displayName: 'L' });
      secrets.push(token);
      const id = await api.openConversation(token);
      await api.send(token, id, 'hello', { 'idempotency-key': 'log-1' });
      await api.post('/v1/auth/exchange', { token: key, body: { externalUserID: 'logged' } });
      // Failures log more: a forged token, a revoked key, a malformed body, a ticket in a query string.
      await api.get('/v1/conversations', { token: `${token}x` });
      await api.get('/v1/conversations', { token: 'ck_live_not-a-real-key-at-all' });
      const ticket = (await api.post('/v1/stream-tickets', { token })).json.ticket as string;
      secrets.push(ticket);
      const stream = await RawStream.open(`${s.url}/v1/stream?ticket=${encodeURIComponent(ticket)}`);
      stream.close();
      await api.post(`/v1/conversations/${id}/messages`, {
        token,
        rawBody: `{"message": {"accessToken": "${token}"}}`,
        headers: { 'content-type': 'application/json' },
      });
      const logged = s.stdout.slice(banner) + s.stderr;
      assert.match(logged, /"msg":"request"/, 'trace logging is on');
      for (const secret of secrets)
        assert.ok(!logged.includes(secret), `a credential was logged: ${secret.slice(0, 12)}…`);
    } finally {
      await s.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Api, STORES, TestServer } from './harness/index.js';

/** The SQLite database holds every org's signing secret: only its owner may read it (a secure default). */
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

for (const store of STORES.filter((s) => s.name === 'sqlite')) {
  describe(`database file modes [${store.name}]`, () => {
    test('a fresh data directory is 0700 and the db, -wal and -shm files 0600; looser modes are warned about', async () => {
      const root = mkdtempSync(join(tmpdir(), 'concierge-modes-'));
      const dir = join(root, 'data', 'nested');
      const file = join(dir, 'concierge.db');
      const server = await TestServer.start(`sqlite:${file}`, { args: ['--rate-limit', '0'], process: true });
      try {
        const api = new Api(server.url);
        // A write, so the -wal and -shm files exist.
        await api.memberToken(server.org.apiKey, 'modes');
        assert.equal(mode(dir), '0700', 'data directory');
        for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f), '0600', f);
        assert.doesNotMatch(server.stderr, /readable or writable by group or others/);

        await server.stop();
        chmodSync(file, 0o644);
        chmodSync(dir, 0o755);
        await server.restart();
        assert.match(server.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')} is readable or writable by group`));
        assert.match(server.stderr, new RegExp(`${dir} is readable or writable by group`));
      } finally {
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
}

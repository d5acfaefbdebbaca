import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SQLITE_MIGRATIONS } from '@concierge/store';
import Database from 'better-sqlite3';
import { Api, cli, TestServer } from './harness/index.js';

test('a database made by schema v1 is migrated at start-up with its data intact (unread counts backfilled)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'concierge-migrate-'));
  const file = join(dir, 'v1.db');
  try {
    // Build a v1 database by hand, as the first release left it.
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(SQLITE_MIGRATIONS[0]!);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
    db.pragma('user_version = 1');
    db.close();
    const { orgID, apiKey } = JSON.parse((await cli(['orgs', 'create', 'Old', '--json'], `sqlite:${file}`)).stdout);
    assert.match(orgID, /^org_/);
    // Any command migrates the database it opens to the newest schema.
    const raw = new Database(file);
    assert.equal(raw.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
    raw.close();
    const server = await TestServer.start(`sqlite:${file}`, { args: ['--rate-limit', '0'] });
    try {
      const api = new Api(server.url);
      const token = await api.memberToken(apiKey, 'old-member');
      const id = await api.openConversation(token);
      await api.send(token, id, 'mine');
      for (let i = 0; i < 3; i++)
        await api.post(`/v1/conversations/${id}/messages`, { token: apiKey, body: { message: `r${i}` } });
      assert.equal((await api.get(`/v1/conversations/${id}`, { token })).json.unreadCount, 3);
    } finally {
      await server.stop();
    }
    // Simulate a database still at v1 holding these rows: forget the column's value and the version, then start.
    const back = new Database(file);
    back.prepare('UPDATE conversations SET member_unread = 0').run();
    back.exec('ALTER TABLE conversations DROP COLUMN member_unread');
    back.pragma('user_version = 1');
    back.close();
    const again = await TestServer.start(`sqlite:${file}`, { args: ['--rate-limit', '0'] });
    try {
      const api = new Api(again.url);
      const token = await api.memberToken(apiKey, 'old-member');
      const list = (await api.get('/v1/conversations', { token })).json;
      assert.equal(list.conversations[0].unreadCount, 3);
      assert.equal(
        (await api.get(`/v1/conversations/${list.conversations[0].id}/messages`, { token })).json.messages.length,
        4,
      );
    } finally {
      await again.stop();
    }
    // --migrate false refuses a database behind the code instead of running on a schema it does not know.
    const v1 = new Database(file);
    v1.exec('ALTER TABLE conversations DROP COLUMN member_unread');
    v1.pragma('user_version = 1');
    v1.close();
    await assert.rejects(TestServer.start(`sqlite:${file}`, { args: ['--migrate', 'false'] }), /needs migrating/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../open-store.js';
import {
  IdempotencyKeyTaken,
  NotFoundInStore,
  type ConversationRecord,
  type MessageRecord,
  type Store,
  type StoredEvent,
} from '../store.js';

/**
 * The SQLite writer thread without a server: writes cross to it as data and come back with their values, their
 * errors as their own classes, and their events in commit order; the main connection reads what it committed.
 */

for (const writer of ['worker', 'main'] as const) {
  describe(`SQLite writer: ${writer}`, () => {
    let dir: string;
    let store: Store;
    let conversation: ConversationRecord;
    const events: StoredEvent[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'concierge-writer-'));
      const renderers = join(dir, 'renderers.mjs');
      writeFileSync(
        renderers,
        'export const replayRenderers = { echo: (r, c) => ({ status: 200, body: JSON.stringify({ r, c }) }) };',
      );
      store = await openStore(`sqlite:${join(dir, 'concierge.db')}`, {
        sqliteWriter: writer,
        replayRenderers: pathToFileURL(renderers).href,
      });
      store.onCommit((batch) => events.push(...batch));
      const org = await store.createOrg('o');
      const member = await store.upsertMember(org.id, 'u1', {}, 'merge');
      conversation = await store.createConversation({ orgID: org.id, memberID: member.id, type: 't', title: null });
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const draft = (body: string) => ({
      orgID: conversation.orgID,
      conversationID: conversation.id,
      type: 'member',
      authorID: 'u1',
      body,
      via: 'member' as const,
    });

    test('errors keep their class across the thread boundary', async () => {
      await assert.rejects(
        store.insertMessage({ ...draft('lost'), conversationID: 'conv_missing' }),
        (error) => error instanceof NotFoundInStore && error.what === 'conversation',
      );
      const idem = {
        scope: { orgID: conversation.orgID, principal: 'member:x', key: 'k1' },
        fingerprint: 'f',
        render: { renderer: 'echo', context: { n: 1 } },
      };
      await store.insertMessage(draft('once'), idem);
      await assert.rejects(store.insertMessage(draft('twice'), idem), (error) => error instanceof IdempotencyKeyTaken);
      const stored = await store.getIdempotency(idem.scope);
      assert.equal((JSON.parse(stored!.body) as { r: MessageRecord }).r.body, 'once');
      assert.deepEqual((JSON.parse(stored!.body) as { c: unknown }).c, { n: 1 });
    });

    test('50 concurrent writes: each answered with its own record, events in seq order, readable at once', async () => {
      const before = events.length;
      const sent = await Promise.all(Array.from({ length: 50 }, (_, i) => store.insertMessage(draft(`m${i}`))));
      sent.forEach((m, i) => assert.equal(m.body, `m${i}`));
      const published = events.slice(before);
      assert.deepEqual(
        published.map((e) => e.message?.id),
        [...sent].sort((a, b) => a.seq - b.seq).map((m) => m.id),
      );
      for (let i = 1; i < published.length; i++) assert.ok(published[i]!.seq > published[i - 1]!.seq);
      const page = await store.listMessagesBefore(conversation.id, null, 100);
      for (const m of sent) assert.ok(page.some((p) => p.id === m.id));
    });
  });
}

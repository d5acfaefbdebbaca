import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeCursor, encodeCursor, scopeOf, type CursorPosition } from './cursor.js';

const secret = randomBytes(32);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Every character an edit may put in: the cursor's own alphabet, its separator, and some that are near misses. */
const EDIT_CHARS = [...BASE64URL, '.', '=', '+', '/', ' ', '%', ':', '\n'];

const id = fc.stringMatching(/^[a-z]{2,5}_[0-9A-Za-z]{6,23}$/);
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const position: fc.Arbitrary<CursorPosition> = fc.oneof(
  fc.record({ kind: fc.constant('m' as const), conversationID: id, seq }),
  fc.record({ kind: fc.constant('e' as const), stream: id, seq }),
  fc.record({ kind: fc.constant('n' as const), conversationID: id, seq }),
  fc.record({ kind: fc.constant('s' as const), orgID: id, seq }),
  fc.record({ kind: fc.constant('i' as const), orgID: id, seq, snapshot: seq }),
);

/** Every cursor that differs from `cursor` by one substituted, deleted or inserted character. */
function* singleEdits(cursor: string): Generator<string> {
  for (let i = 0; i <= cursor.length; i++) {
    if (i < cursor.length) yield cursor.slice(0, i) + cursor.slice(i + 1);
    for (const c of EDIT_CHARS) {
      if (i < cursor.length && c !== cursor[i]) yield cursor.slice(0, i) + c + cursor.slice(i + 1);
      yield cursor.slice(0, i) + c + cursor.slice(i);
    }
  }
}

describe('cursors', () => {
  test('decode(encode(p)) is p, for message and event positions', () => {
    fc.assert(
      fc.property(position, (p) => {
        // fast-check's records have no prototype; compare the fields.
        assert.deepEqual(decodeCursor(secret, encodeCursor(secret, p)), { ...p });
      }),
    );
  });

  test('every single-character edit of a valid cursor is refused', () => {
    const cursors = [
      encodeCursor(secret, { kind: 'm', conversationID: 'conv_00mabc123xYz', seq: 0 }),
      encodeCursor(secret, { kind: 'm', conversationID: 'conv_00mabc123xYz', seq: 1234567 }),
      encodeCursor(secret, { kind: 'e', stream: 'org_00mabc123', seq: Number.MAX_SAFE_INTEGER }),
    ];
    for (const cursor of cursors) {
      let edits = 0;
      for (const edited of singleEdits(cursor)) {
        edits++;
        assert.equal(decodeCursor(secret, edited), null, `accepted ${JSON.stringify(edited)} (from ${cursor})`);
      }
      assert.ok(edits > cursor.length * EDIT_CHARS.length, `${edits} edits tried`);
    }
  });

  test('a cursor names its own conversation and kind, and cannot be re-pointed at another', () => {
    fc.assert(
      fc.property(position, id, (p, other) => {
        const cursor = encodeCursor(secret, p);
        const decoded = decodeCursor(secret, cursor);
        // The routes refuse a position of another kind or scope (routes/messages.ts, routes/streams.ts); this is
        // what they compare against.
        assert.equal(decoded?.kind, p.kind);
        assert.deepEqual(decoded, { ...p });
        // Swapping the visible payload for another scope or kind while keeping the MAC is refused.
        const mac = cursor.slice(cursor.indexOf('.') + 1);
        const scope = scopeOf(p);
        const tail = p.kind === 'i' ? `:${p.snapshot.toString(36)}` : '';
        const own = `${p.kind}:${scope}:${p.seq.toString(36)}${tail}`;
        const forged = [
          `${p.kind}:${other}:${p.seq.toString(36)}${tail}`,
          `${p.kind === 'm' ? 'e' : 'm'}:${scope}:${p.seq.toString(36)}`,
          `${p.kind}:${scope}:${(p.seq + 1).toString(36)}${tail}`,
        ].filter((payload) => payload !== own);
        for (const payload of forged)
          assert.equal(decodeCursor(secret, `${Buffer.from(payload).toString('base64url')}.${mac}`), null, payload);
      }),
    );
  });

  test("another server's cursor (another secret) is refused", () => {
    fc.assert(
      fc.property(position, fc.uint8Array({ minLength: 32, maxLength: 32 }), (p, otherSecret) => {
        fc.pre(!Buffer.from(otherSecret).equals(secret));
        assert.equal(decodeCursor(secret, encodeCursor(otherSecret, p)), null);
      }),
    );
  });

  test('arbitrary text is refused, never thrown on', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600, unit: 'binary' }), (text) => {
        assert.equal(decodeCursor(secret, text), null);
      }),
    );
  });
});

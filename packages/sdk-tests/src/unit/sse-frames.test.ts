import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
// The SDK's internals are not exported by the package; its unit tests reach the built files directly.
import { frameDecoder, type RawEvent } from '../../../sdk/dist/internal/sse.js';

type Decoded = { kind: 'event'; event: RawEvent } | { kind: 'retry'; ms: number } | { kind: 'id'; id: string };

/** Feeds `chunks` one after another and lists what the decoder reported, in order. */
function decode(chunks: readonly string[]): Decoded[] {
  const out: Decoded[] = [];
  const feed = frameDecoder({
    onEvent: (event) => out.push({ kind: 'event', event: { ...event } }),
    onRetry: (ms) => out.push({ kind: 'retry', ms }),
    onIDOnly: (id) => out.push({ kind: 'id', id }),
  });
  for (const chunk of chunks) feed(chunk);
  return out;
}

const event = (data: string, id?: string, name?: string): Decoded => ({
  kind: 'event',
  event: { id, event: name, data },
});

describe("the SDK's SSE frame decoder", () => {
  test('an event: `event:`, `id:`, data lines joined with LF; one leading space of a value is dropped', () => {
    assert.deepEqual(decode(['event: message\nid: c1\ndata: {"a":\ndata:  1}\n\n']), [
      event('{"a":\n 1}', 'c1', 'message'),
    ]);
  });

  test('an id-only frame sets the resume point and dispatches no event', () => {
    assert.deepEqual(decode(['retry: 2000\n\nid: start\n\n', 'data: x\n\n', 'id:tight\n\n']), [
      { kind: 'retry', ms: 2000 },
      { kind: 'id', id: 'start' },
      event('x'),
      { kind: 'id', id: 'tight' },
    ]);
  });

  test('CRLF and lone CR end lines like LF', () => {
    const expected = [{ kind: 'id', id: 'p' }, event('a\nb', 'c2', 'read')] satisfies Decoded[];
    assert.deepEqual(decode(['id: p\r\n\r\nevent: read\r\nid: c2\r\ndata: a\r\ndata: b\r\n\r\n']), expected);
    assert.deepEqual(decode(['id: p\r\revent: read\rid: c2\rdata: a\rdata: b\r\r', ':\n']), expected);
  });

  test('a CRLF split between two chunks is one line break, not two', () => {
    assert.deepEqual(decode(['id: p\r', '\n\r', '\ndata: x\r', '\n\r', '\n']), [{ kind: 'id', id: 'p' }, event('x')]);
  });

  test('comments (heartbeats) and unknown fields are ignored', () => {
    assert.deepEqual(decode([': heartbeat\n\n', ':\n\n', 'foo: bar\ndata: y\n\n', ': hb\n\n']), [event('y')]);
  });

  test('one character at a time gives the same as all at once', () => {
    const text = 'retry: 1500\n\nid: s\n\n: hb\n\nevent: typing\ndata: {}\n\nid: c9\ndata: z\r\n\r\n';
    assert.deepEqual(decode([...text]), decode([text]));
    assert.equal(decode([text]).length, 4);
  });

  test('any frames, any line ending, split anywhere: the events, ids and retries the server meant (property)', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9_.{}":, -]{0,12}$/).filter((v) => !v.startsWith(' '));
    const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/);
    const frame = fc.oneof(
      fc.record({
        kind: fc.constant('event' as const),
        id: fc.option(id, { nil: undefined }),
        name: fc.option(fc.constantFrom('message', 'conversation', 'read', 'typing'), { nil: undefined }),
        lines: fc.array(value, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ kind: fc.constant('id' as const), id }),
      fc.record({ kind: fc.constant('retry' as const), ms: fc.nat(60_000) }),
      fc.record({ kind: fc.constant('comment' as const), text: value }),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 12 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, eol, cuts) => {
          let text = '';
          const expected: Decoded[] = [];
          for (const f of frames) {
            if (f.kind === 'event') {
              if (f.name !== undefined) text += `event: ${f.name}${eol}`;
              if (f.id !== undefined) text += `id: ${f.id}${eol}`;
              for (const line of f.lines) text += `data: ${line}${eol}`;
              expected.push(event(f.lines.join('\n'), f.id, f.name));
            } else if (f.kind === 'id') {
              text += `id: ${f.id}${eol}`;
              expected.push({ kind: 'id', id: f.id });
            } else if (f.kind === 'retry') {
              text += `retry: ${f.ms}${eol}`;
              expected.push({ kind: 'retry', ms: f.ms });
            } else text += `:${f.text}${eol}`;
            text += eol;
          }
          // A final comment: a CR at the very end could still be the first half of a CRLF.
          text += `:${eol}`;
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...at].map((from, i) => text.slice(from, at[i] ?? text.length));
          assert.deepEqual(decode(chunks), expected);
        },
      ),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
// The SDK's internals are not exported by the package; its unit tests reach the built files directly.
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../sdk/dist/internal/backoff.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe("the SDK's Retry-After parsing", () => {
  test('delta-seconds, fractional seconds included, in milliseconds', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter('1', NOW), 1000);
    assert.equal(parseRetryAfter(' 7 ', NOW), 7000);
    assert.equal(parseRetryAfter('1.5', NOW), 1500, 'not read as a date in 2001');
    assert.equal(parseRetryAfter('0.25', NOW), 250);
  });

  test('an HTTP-date is the time until then; a past one is 0', () => {
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', NOW), 30_000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 11:59:00 GMT', NOW), 0);
  });

  test('clamped to 0..300 s', () => {
    assert.equal(parseRetryAfter('301', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('99999999999', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('-5', NOW), 0);
    assert.equal(parseRetryAfter('Mon, 01 Mar 2027 12:00:00 GMT', NOW), MAX_RETRY_AFTER_MS);
  });

  test('absent or unreadable is null (the caller falls back to its own backoff)', () => {
    for (const value of [null, '', '   ', 'soon', '1e3', '0x10', '1,5', '12:00', '2026-03-01', 'Mon, 99 Foo 2026'])
      assert.equal(parseRetryAfter(value, NOW), null, JSON.stringify(value));
  });

  test('any delta-seconds n is min(n s, 300 s), any text is null or within 0..300 s (property)', () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), (n) => {
        assert.equal(parseRetryAfter(String(n), NOW), Math.min(n * 1000, MAX_RETRY_AFTER_MS));
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const ms = parseRetryAfter(text, NOW);
        assert.ok(ms === null || (Number.isInteger(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS), `${text} → ${ms}`);
      }),
    );
  });
});

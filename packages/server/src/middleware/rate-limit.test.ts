import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../errors.js';
import { RateLimiter } from './rate-limit.js';

const T0 = 1_700_000_000_000;

/** Runs `fn` with a limiter of `perMinute`, closing it after (its sweeper is a timer). */
function withLimiter<T>(perMinute: number, fn: (limiter: RateLimiter) => T): T {
  const limiter = new RateLimiter(perMinute);
  try {
    return fn(limiter);
  } finally {
    limiter.close();
  }
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('the request was not refused');
}

describe('the rate limiter', () => {
  test('counts down RateLimit-Remaining, then refuses with 429 RATE_LIMITED and Retry-After', () => {
    withLimiter(3, (limiter) => {
      assert.deepEqual(limiter.take('key:a', T0), {
        'ratelimit-limit': '3',
        'ratelimit-remaining': '2',
        'ratelimit-reset': '60',
      });
      assert.equal(limiter.take('key:a', T0 + 1)['ratelimit-remaining'], '1');
      assert.equal(limiter.take('key:a', T0 + 2)['ratelimit-remaining'], '0');
      const error = refusal(() => limiter.take('key:a', T0 + 20_500));
      assert.equal(error.code, 'RATE_LIMITED');
      assert.equal(error.status, 429);
      assert.deepEqual(error.options.headers, {
        'retry-after': '40',
        'ratelimit-limit': '3',
        'ratelimit-remaining': '0',
        'ratelimit-reset': '40',
      });
    });
  });

  test('each credential has its own window', () => {
    withLimiter(1, (limiter) => {
      limiter.take('key:a', T0);
      refusal(() => limiter.take('key:a', T0));
      assert.equal(limiter.take('member:b', T0)['ratelimit-remaining'], '0');
    });
  });

  test('a new window starts 60 s after the first request of the last one', () => {
    withLimiter(1, (limiter) => {
      limiter.take('key:a', T0);
      const error = refusal(() => limiter.take('key:a', T0 + 59_999));
      assert.equal(error.options.headers?.['retry-after'], '1', 'Retry-After is at least 1 s, rounded up');
      assert.equal(limiter.take('key:a', T0 + 60_000)['ratelimit-reset'], '60');
    });
  });

  test('0 turns it off', () => {
    withLimiter(0, (limiter) => {
      for (let i = 0; i < 1000; i++) assert.deepEqual(limiter.take('key:a', T0), {});
    });
  });

  test('never more than the limit in a window, and every refusal says when the window ends (property)', () => {
    const requests = fc.array(fc.record({ who: fc.constantFrom('key:a', 'key:b', 'member:c'), gap: fc.nat(30_000) }), {
      maxLength: 200,
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), requests, (perMinute, list) => {
        withLimiter(perMinute, (limiter) => {
          // The model: a window opens at the first request after the previous one expired, and admits perMinute.
          const windows = new Map<string, { start: number; count: number }>();
          let now = T0;
          for (const { who, gap } of list) {
            now += gap;
            let w = windows.get(who);
            if (w === undefined || now - w.start >= 60_000) windows.set(who, (w = { start: now, count: 0 }));
            const reset = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
            if (w.count < perMinute) {
              w.count++;
              const headers = limiter.take(who, now);
              assert.equal(headers['ratelimit-remaining'], String(perMinute - w.count));
              assert.equal(headers['ratelimit-reset'], String(reset));
            } else {
              const error = refusal(() => limiter.take(who, now));
              assert.equal(error.options.headers?.['retry-after'], String(reset));
              assert.ok(now + reset * 1000 >= w.start + 60_000, 'retrying after Retry-After lands in a new window');
            }
          }
        });
      }),
    );
  });
});

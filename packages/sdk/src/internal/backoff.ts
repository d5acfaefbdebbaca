import { AbortError } from '../core/errors.js';

/** Retry-After is clamped to this: a server asking for more is treated as asking for five minutes. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. Fractional seconds ("0.5") are read as
 * seconds; `Date.parse` would otherwise happily read "1.5" as a date in 2001. Returns null when absent or
 * unreadable, else milliseconds clamped to 0..300 s.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text === '') return null;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else if (/^-\d+(\.\d+)?$/.test(text)) ms = 0;
  else {
    // Only an IMF-fixdate-like value with letters (a weekday or month name) is taken as a date.
    if (!/[a-z]/i.test(text)) return null;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): random(0, min(cap, base × 2^attempt)). */
export function fullJitter(attempt: number, baseMs = 500, capMs = 10_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}

/** Resolves after `ms`, or rejects with AbortError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal));
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The request was aborted.', { cause: signal.reason });
}

/** Waits for `promise` unless `signal` fires first (the promise keeps running for whoever else awaits it). */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal | null): Promise<T> {
  if (signal === undefined || signal === null) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

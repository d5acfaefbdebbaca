import { ApiError } from '../errors.js';

interface Window {
  start: number;
  count: number;
}

/**
 * A fixed one-minute window per credential, in memory (one instance's view: behind a load balancer each
 * instance enforces its own share). Answers carry the IETF draft `RateLimit-*` headers; a refusal adds
 * `Retry-After`. `perMinute` 0 turns it off.
 */
export class RateLimiter {
  private windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(private readonly perMinute: number) {
    this.sweeper = perMinute > 0 ? setInterval(() => this.sweep(), 60_000).unref() : null;
  }

  /** Counts one request for `credential`; returns the headers to send, or throws 429 RATE_LIMITED. */
  take(credential: string, now = Date.now()): Record<string, string> {
    if (this.perMinute === 0) return {};
    let w = this.windows.get(credential);
    if (w === undefined || now - w.start >= 60_000) {
      w = { start: now, count: 0 };
      this.windows.set(credential, w);
    }
    const reset = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
    if (w.count >= this.perMinute) {
      throw new ApiError('RATE_LIMITED', `Rate limit of ${this.perMinute} requests per minute reached; retry later.`, {
        headers: {
          'retry-after': String(reset),
          'ratelimit-limit': String(this.perMinute),
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(reset),
        },
      });
    }
    w.count++;
    return {
      'ratelimit-limit': String(this.perMinute),
      'ratelimit-remaining': String(this.perMinute - w.count),
      'ratelimit-reset': String(reset),
    };
  }

  private sweep(now = Date.now()): void {
    for (const [k, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(k);
  }

  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
  }
}

import { ApiError } from '../errors.js';

interface Window {
  start: number;
  failures: number;
}

const WINDOW_MS = 15 * 60 * 1000;
/** Failures allowed per email per window: a person mistyping, not a guesser. */
export const FAILURES_PER_EMAIL = 5;
/** Per address: a shared office NAT signs in many people, so more room than per email. */
export const FAILURES_PER_IP = 20;
const MAX_TRACKED = 100_000;

/**
 * Counts failed agent sign-ins per email and per client address in fixed 15-minute windows (OWASP
 * Authentication Cheat Sheet, "Protect against automated attacks"). Over either limit, sign-in is refused with
 * 429 before the password is even checked, so a guesser learns nothing more until the window ends. In memory,
 * per instance, like the request rate limiter.
 */
export class SignInLimiter {
  private readonly windows = new Map<string, Window>();

  /** Throws 429 RATE_LIMITED when this email or address has failed too often lately. */
  check(email: string, ip: string, now = Date.now()): void {
    for (const [key, max] of [
      [`e:${email}`, FAILURES_PER_EMAIL],
      [`i:${ip}`, FAILURES_PER_IP],
    ] as const) {
      const w = this.windows.get(key);
      if (w !== undefined && now - w.start < WINDOW_MS && w.failures >= max) {
        const retry = Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000));
        throw new ApiError('RATE_LIMITED', 'Too many failed sign-ins; retry later.', {
          headers: { 'retry-after': String(retry) },
        });
      }
    }
  }

  fail(email: string, ip: string, now = Date.now()): void {
    if (this.windows.size >= MAX_TRACKED) this.sweep(now);
    for (const key of [`e:${email}`, `i:${ip}`]) {
      let w = this.windows.get(key);
      if (w === undefined || now - w.start >= WINDOW_MS) this.windows.set(key, (w = { start: now, failures: 0 }));
      w.failures++;
    }
  }

  /** A success clears the email's count (not the address's: one right password must not unlock guessing others). */
  succeed(email: string): void {
    this.windows.delete(`e:${email}`);
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(k);
    if (this.windows.size >= MAX_TRACKED) this.windows.clear();
  }
}

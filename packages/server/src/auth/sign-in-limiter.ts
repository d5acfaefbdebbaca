import { ApiError } from '../errors.js';

interface Window {
  start: number;
  /** Failed attempts, and attempts still being checked (each counts as a failure until it succeeds). */
  failures: number;
}

const WINDOW_MS = 15 * 60 * 1000;
/** Failures allowed per email (or per sign-in link) per window: a person mistyping, not a guesser. */
export const FAILURES_PER_EMAIL = 5;
/** Per address: a shared office NAT signs in many people, so more room than per email. */
export const FAILURES_PER_IP = 20;
const MAX_TRACKED = 100_000;

/** One reserved attempt: a failure unless it is told it succeeded, or refunded because it checked nothing. */
export interface Attempt {
  /** The password was right: the who's count starts over (not the address's). */
  readonly succeed: () => void;
  /**
   * Nothing was checked (the hash queue was full): the attempt does not count. Rethrows `error`; a property, not a
   * method, so it can be handed to `.catch` as it is.
   */
  readonly refund: (error: unknown) => never;
}

/**
 * Counts agent sign-in attempts (`POST /v1/agent-auth/sign-in`, per email, and `…/setup`, per link) and their
 * client addresses in fixed 15-minute windows (OWASP Authentication Cheat Sheet, "Protect against automated
 * attacks"). An attempt is **reserved** before its password is hashed and counts as a failure from then on, until
 * it succeeds: so however many guesses for one email arrive at once, at most `FAILURES_PER_EMAIL` of them reach the
 * KDF, and the rest are refused with 429 at once, before any hash. Over either limit, the answer is 429 whatever the
 * password, so a guesser learns nothing more until the window ends. In memory, per instance, like the request rate
 * limiter.
 */
export class SignInLimiter {
  private readonly windows = new Map<string, Window>();

  /** `refused` is told of each attempt refused here (the metrics count them). */
  constructor(private readonly refused: () => void = () => {}) {}

  /**
   * Reserves an attempt for `who` (`email:<address>` or `link:<hash>`) from `ip`, or throws 429 RATE_LIMITED when
   * either has failed (or is being checked) too often in its window.
   */
  reserve(who: string, ip: string, now = Date.now()): Attempt {
    const keys = [
      [`w:${who}`, FAILURES_PER_EMAIL],
      [`i:${ip}`, FAILURES_PER_IP],
    ] as const;
    for (const [key, max] of keys) {
      const w = this.windows.get(key);
      if (w !== undefined && now - w.start < WINDOW_MS && w.failures >= max) {
        this.refused();
        const retry = Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000));
        throw new ApiError('RATE_LIMITED', 'Too many failed sign-in attempts; retry later.', {
          headers: { 'retry-after': String(retry) },
        });
      }
    }
    if (this.windows.size >= MAX_TRACKED) this.sweep(now);
    const taken = keys.map(([key]) => {
      let w = this.windows.get(key);
      if (w === undefined || now - w.start >= WINDOW_MS) this.windows.set(key, (w = { start: now, failures: 0 }));
      w.failures++;
      return { key, start: w.start };
    });
    let settled = false;
    /** Takes back this attempt's count from the windows it was added to (not from a later window). */
    const giveBack = (key: string, start: number) => {
      const w = this.windows.get(key);
      if (w !== undefined && w.start === start && w.failures > 0) w.failures--;
    };
    return {
      succeed: () => {
        if (settled) return;
        settled = true;
        // A success clears the who's count; not the address's, or one right password would unlock guessing others.
        this.windows.delete(taken[0]!.key);
        giveBack(taken[1]!.key, taken[1]!.start);
      },
      refund: (error: unknown): never => {
        if (!settled) {
          settled = true;
          for (const { key, start } of taken) giveBack(key, start);
        }
        throw error;
      },
    };
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(k);
    if (this.windows.size >= MAX_TRACKED) this.windows.clear();
  }
}

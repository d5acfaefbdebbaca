import type { Store } from '@concierge/store';
import { principalID, type Principal } from '../auth/authenticator.js';
import type { StreamScope } from './stream-scope.js';

/**
 * How long the place a stream the server ended is kept for a reconnect. The hosted API's SDKs reconnect within
 * about half a second (after a refresh through the app's backend, and with backoff after a failed attempt: at
 * most a few seconds); a minute covers that with room, and is short enough that a device that opens a stream
 * later for its own reasons is rarely offered someone else's place.
 */
export const RESUME_WINDOW_MS = 60_000;

const PURGE_INTERVAL_MS = 60_000;

/** Whose stream, of what: a resume point is only ever used by a stream with the same key. */
export interface ResumeKey {
  holder: string;
  stream: string;
}

export function resumeKey(principal: Principal, scope: StreamScope): ResumeKey {
  const stream =
    scope.kind === 'conversation'
      ? `conversation:${scope.conversationID}`
      : scope.kind === 'member'
        ? `member:${scope.memberID}`
        : `org:${scope.orgID}`;
  return { holder: principalID(principal), stream };
}

/**
 * Where streams the server ended stopped (docs/sse.md, "Streams the server ends"). Clients that send no
 * `Last-Event-ID` (the hosted API's SDKs) would otherwise start live after the end and skip what was committed
 * while they reconnected. The points live in the store, so a reconnect that a load balancer sends to another
 * instance, or to the same one after a restart, finds them too. Each ended stream leaves one point and each
 * reconnect without a resume point takes at most one, so two devices ended together (a deploy) each get theirs.
 */
export class ResumePoints {
  private readonly sweeper = setInterval(() => void this.purge(), PURGE_INTERVAL_MS).unref();

  constructor(private readonly store: Store) {}

  record(key: ResumeKey, seq: number): Promise<void> {
    return this.store.recordResumePoint({ ...key, seq, expiresAt: Date.now() + RESUME_WINDOW_MS });
  }

  /**
   * For a stream that brings no resume point: the place one of the holder's ended streams stopped, taken so no
   * other reconnect uses it, or null. A read first, so the usual open (nothing to take) writes nothing.
   */
  async take(key: ResumeKey): Promise<number | null> {
    const now = Date.now();
    if ((await this.store.resumePoints(key.holder, key.stream, now)).length === 0) return null;
    return this.store.takeResumePoint(key.holder, key.stream, now, null);
  }

  /**
   * A stream that resumes exactly where an ended one stopped (the id-only frame sent at the end) is that stream's
   * reconnect: its point is used up, so it is not offered to another device.
   */
  async release(key: ResumeKey, seq: number): Promise<void> {
    const now = Date.now();
    if (!(await this.store.resumePoints(key.holder, key.stream, now)).includes(seq)) return;
    await this.store.takeResumePoint(key.holder, key.stream, now, seq);
  }

  /** Expired points are never used (reads skip them): the purge only keeps the table small. */
  private async purge(): Promise<void> {
    try {
      await this.store.purgeResumePoints(Date.now());
    } catch {
      // The store is unavailable: the next round purges what this one could not.
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

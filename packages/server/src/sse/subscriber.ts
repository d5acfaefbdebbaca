import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/authenticator.js';
import { resumeKey, type ResumeKey } from './resume-points.js';
import type { StreamScope } from './stream-scope.js';

/** A live event held for a stream while its replay runs: its seq and its bytes. */
export interface Pending {
  seq: number;
  bytes: Buffer;
}

/** One open stream, as the hub keeps it: its response, what it shows, who holds it, and where it is. */
export class Subscriber {
  /** Highest seq written; live events at or below it were already replayed. */
  lastSeq = 0;
  /**
   * `lastSeq` is a position in the org's log (a resume point, the hub's watermark at the start): false only for
   * a live start before the hub had published anything of the org, which has no position until its first event.
   */
  positioned = false;
  /** Live events held back while the replay runs; null once live. */
  pending: Pending[] | null = null;
  /** Signals (typing, `webhook.disabled`) held back with `pending`, written once the stream is live. */
  signals: Buffer[] = [];
  closed = false;
  /** Ended by the server (`Hub.end`), not by the client going away. */
  ended = false;
  timer: NodeJS.Timeout | null = null;
  /** The take of an ended stream's resume point, while it runs (a stream without one of its own). */
  claiming: Promise<void> | null = null;
  /** Resolves once the org's live events flow to the hub (the store's interest in the org is ready). */
  fed: Promise<void> | null = null;
  /** For an unpositioned stream: the org's latest seq read from the store just after it registered. */
  floor: Promise<number | null> | null = null;
  readonly key: ResumeKey;

  constructor(
    readonly res: ServerResponse,
    readonly scope: StreamScope,
    readonly principal: Principal,
  ) {
    this.key = resumeKey(principal, scope);
  }

  get memberID(): string | null {
    return this.principal.kind === 'member' ? this.principal.memberID : null;
  }
}

/** The bytes of the live events a stream holds back while its replay runs. */
export function pendingBytes(sub: { pending: Array<{ bytes: Buffer }> | null }): number {
  let n = 0;
  for (const p of sub.pending ?? []) n += p.bytes.length;
  return n;
}

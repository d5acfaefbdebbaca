import type { StoredEvent } from '../store.js';

/** Reads an org's events after a seq, oldest first, with `message` joined in (Store.listEventsAfter). */
export type ReadEvents = (orgID: string, afterSeq: number, limit: number) => Promise<StoredEvent[]>;

interface OrgState {
  /** Highest seq handed to the listeners: everything at or below it was delivered (or never existed). */
  last: number;
  /** A catch-up read is running for this org. */
  running: boolean;
  /** Something new was signalled while the read ran: read again when it ends. */
  again: boolean;
}

const PAGE = 500;
const RETRY_MS = 1000;

/**
 * Hands every committed event, from this instance or any other, to the commit listeners exactly once and in seq
 * order per org (the hub drops an event whose seq is not above the last it sent, so order is correctness here).
 *
 * Each org keeps the last seq delivered. A local commit whose events follow on directly is delivered at once,
 * synchronously, as the SQLite adapter does. Anything else (another instance's commit announced by NOTIFY, or a
 * local commit that leapfrogged one from another instance) starts a catch-up read of the org's events after the
 * last delivered seq; the org's row lock makes seqs commit-ordered, so once we have seen seq N committed, every
 * seq below N is committed too and that read misses nothing. Reads of one org never overlap, and a signal that
 * arrives during a read makes it read again, so nothing is skipped and nothing is sent twice.
 */
export class EventFeed {
  private readonly orgs = new Map<string, OrgState>();
  private closed = false;

  constructor(
    private readonly read: ReadEvents,
    private readonly emit: (events: readonly StoredEvent[]) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  private state(orgID: string): OrgState {
    let st = this.orgs.get(orgID);
    if (st === undefined) {
      // An org we were not told of at start was created after it, so all its events are new to us.
      st = { last: 0, running: false, again: false };
      this.orgs.set(orgID, st);
    }
    return st;
  }

  /** The starting point: the org's latest seq when the feed began listening (earlier events are history). */
  seed(orgID: string, seq: number): void {
    const st = this.state(orgID);
    if (seq > st.last) st.last = seq;
  }

  /** The last seq delivered for an org (0 when none). */
  lastDelivered(orgID: string): number {
    return this.orgs.get(orgID)?.last ?? 0;
  }

  /** Events this instance just committed, in seq order per org. */
  local(events: readonly StoredEvent[]): void {
    for (const [orgID, list] of byOrg(events)) {
      const st = this.state(orgID);
      if (!st.running && list[0]!.seq === st.last + 1 && contiguous(list)) {
        st.last = list[list.length - 1]!.seq;
        this.deliver(list);
      } else this.kick(orgID);
    }
  }

  /** Another instance (or this one) committed events of the org up to `seq`. */
  signal(orgID: string, seq: number): void {
    const st = this.state(orgID);
    if (!st.running && seq <= st.last) return; // our own echo, or already read
    this.kick(orgID);
  }

  /** Catch up every org whose counter is past what we delivered (after a lost LISTEN connection). */
  catchUp(counters: Iterable<[string, number]>): void {
    for (const [orgID, seq] of counters) this.signal(orgID, seq);
  }

  close(): void {
    this.closed = true;
  }

  private kick(orgID: string): void {
    const st = this.state(orgID);
    if (st.running) {
      st.again = true;
      return;
    }
    st.running = true;
    void this.drain(orgID, st);
  }

  private async drain(orgID: string, st: OrgState): Promise<void> {
    try {
      do {
        st.again = false;
        for (let page = 0; !this.closed; page++) {
          const rows = await this.read(orgID, st.last, PAGE);
          const fresh = rows.filter((e) => e.seq > st.last);
          if (fresh.length > 0) {
            st.last = fresh[fresh.length - 1]!.seq;
            this.deliver(fresh);
          }
          if (rows.length < PAGE) break;
        }
      } while (st.again && !this.closed);
      st.running = false;
    } catch (error) {
      // The database is unreachable for now: try again shortly; `last` did not move, so nothing is lost.
      st.running = false;
      this.onError(error);
      if (!this.closed) setTimeout(() => this.kick(orgID), RETRY_MS).unref();
    }
  }

  private deliver(events: readonly StoredEvent[]): void {
    if (this.closed) return;
    try {
      this.emit(events);
    } catch (error) {
      // A throwing listener must not stall the org's feed for everyone else.
      this.onError(error);
    }
  }
}

function byOrg(events: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const out = new Map<string, StoredEvent[]>();
  for (const e of events) {
    let list = out.get(e.orgID);
    if (list === undefined) out.set(e.orgID, (list = []));
    list.push(e);
  }
  return out;
}

function contiguous(list: readonly StoredEvent[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.seq !== list[i - 1]!.seq + 1) return false;
  return true;
}

import type { FeedStats, Interest, StoredEvent } from '../store.js';

/** Reads an org's events after a seq, oldest first, with `message` joined in (Store.listEventsAfter). */
export type ReadEvents = (orgID: string, afterSeq: number, limit: number) => Promise<StoredEvent[]>;
/** Reads the seq of an org's latest committed event (0 when none). */
export type ReadSeq = (orgID: string) => Promise<number>;

interface OrgState {
  /** Local holders of an interest in the org: while none, nothing of the org is read or delivered. */
  watchers: number;
  /** `last` is where delivery stands: set from the database when the first interest arrived. */
  positioned: boolean;
  /** The read that positions the feed, while it runs (shared by every interest that waits for it). */
  positioning: Promise<number> | null;
  /** Highest seq handed to the listeners: everything at or below it was delivered (or came before the interest). */
  last: number;
  /** Highest seq announced for the org (a wake-up, a local commit): what a catch-up must reach. */
  heard: number;
  /** A catch-up read is running for this org. */
  running: boolean;
  /** Something new was signalled while the read ran: read again when it ends. */
  again: boolean;
}

const PAGE = 500;
const RETRY_MS = 1000;

/**
 * Hands the committed events of the orgs this instance watches, from this instance or any other, to the commit
 * listeners exactly once and in seq order per org (the hub drops an event whose seq is not above the last it sent,
 * so order is correctness here). An org nobody here watches costs nothing: its wake-ups are dropped on a map
 * lookup, with no read (docs/design/event-feed-interest.md).
 *
 * The first interest in an org positions the feed at the org's latest committed seq, read from the database; the
 * interest's `ready` resolves then, and every event committed after that read is delivered. A subscriber that
 * replays history waits for `ready` before its replay query, so the replay reaches at least that position and
 * nothing falls between the two.
 *
 * Once positioned, a local commit whose events follow on directly is delivered at once, synchronously, as the
 * SQLite adapter does. Anything else (another instance's commit announced by a wake-up, or a local commit that
 * leapfrogged one from another instance) starts a catch-up read of the org's events after the last delivered seq;
 * the org's row lock makes seqs commit-ordered, so once seq N is seen committed, every seq below N is committed too
 * and that read misses nothing. Reads of one org never overlap, and a signal that arrives during a read makes it
 * read again, so nothing is skipped and nothing is sent twice.
 */
export class EventFeed {
  private readonly orgs = new Map<string, OrgState>();
  private closed = false;
  private reads = 0;

  constructor(
    private readonly read: ReadEvents,
    private readonly readSeq: ReadSeq,
    private readonly emit: (events: readonly StoredEvent[]) => void,
    private readonly onError: (error: unknown) => void,
    /** The org's state is gone (nobody watches it, nothing of it runs): its wake-ups may stop coming. */
    private readonly released: (orgID: string) => void = () => {},
  ) {}

  /** Takes an interest in the org's events; they flow to the listeners from `ready` until the last release. */
  watch(orgID: string): Interest {
    let st = this.orgs.get(orgID);
    if (st === undefined) {
      st = { watchers: 0, positioned: false, positioning: null, last: 0, heard: 0, running: false, again: false };
      this.orgs.set(orgID, st);
    }
    const state = st;
    state.watchers++;
    if (!state.positioned && state.positioning === null) {
      state.positioning = this.position(orgID, state);
      // A failed read rejects `ready` for its holders; it must not count as unhandled when they are gone.
      state.positioning.catch(() => {});
    }
    const ready = state.positioned ? Promise.resolve(state.last) : state.positioning!;
    let released = false;
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        state.watchers--;
        if (state.watchers > 0) return;
        // Nothing of the org is read or delivered from here; a later interest positions the feed afresh.
        state.positioned = false;
        state.again = false;
        this.forget(orgID, state);
      },
    };
  }

  /** The orgs watched now (a catch-up after a lost wake-up channel reads only their counters). */
  watched(): string[] {
    const out: string[] = [];
    for (const [orgID, st] of this.orgs) if (st.positioned) out.push(orgID);
    return out;
  }

  stats(): FeedStats {
    return { orgsWatched: this.watched().length, reads: this.reads };
  }

  /** Events this instance just committed, in seq order per org. */
  local(events: readonly StoredEvent[]): void {
    let i = 0;
    while (i < events.length) {
      const orgID = events[i]!.orgID;
      let j = i + 1;
      while (j < events.length && events[j]!.orgID === orgID) j++;
      this.localRun(orgID, events, i, j);
      i = j;
    }
  }

  private localRun(orgID: string, events: readonly StoredEvent[], from: number, to: number): void {
    const st = this.orgs.get(orgID);
    if (st === undefined) return;
    const top = events[to - 1]!.seq;
    if (top > st.heard) st.heard = top;
    if (!st.positioned) return;
    if (!st.running && events[from]!.seq === st.last + 1 && contiguous(events, from, to)) {
      st.last = top;
      this.deliver(from === 0 && to === events.length ? events : events.slice(from, to));
    } else this.kick(orgID, st);
  }

  /** An instance (this one or another) committed events of the org up to `seq`. */
  signal(orgID: string, seq: number): void {
    const st = this.orgs.get(orgID);
    if (st === undefined) return; // nobody here watches the org: no read
    if (seq > st.heard) st.heard = seq;
    if (!st.positioned || (!st.running && seq <= st.last)) return; // our own echo, or already read
    this.kick(orgID, st);
  }

  /** Catch up every watched org whose counter is past what was delivered (after a lost wake-up channel). */
  catchUp(counters: Iterable<[string, number]>): void {
    for (const [orgID, seq] of counters) this.signal(orgID, seq);
  }

  close(): void {
    this.closed = true;
  }

  private async position(orgID: string, st: OrgState): Promise<number> {
    try {
      this.reads++;
      const seq = await this.readSeq(orgID);
      if (this.closed || st.watchers === 0) return seq;
      // Seqs only grow, so a `last` kept by a read still running from an earlier interest is never above `seq`
      // unless that read already delivered past it: never step back.
      if (seq > st.last) st.last = seq;
      st.positioned = true;
      // A wake-up heard while the position was read may announce events past it.
      if (st.heard > st.last) this.kick(orgID, st);
      return st.last;
    } finally {
      st.positioning = null;
      this.forget(orgID, st);
    }
  }

  /** Drops an org's state once nobody watches it and nothing of it runs. */
  private forget(orgID: string, st: OrgState): void {
    if (st.watchers === 0 && !st.running && st.positioning === null && this.orgs.get(orgID) === st) {
      this.orgs.delete(orgID);
      this.released(orgID);
    }
  }

  private kick(orgID: string, st: OrgState): void {
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
        while (!this.closed && st.positioned) {
          this.reads++;
          const rows = await this.read(orgID, st.last, PAGE);
          if (!st.positioned) break; // released while the read ran
          const fresh = rows.filter((e) => e.seq > st.last);
          if (fresh.length > 0) {
            st.last = fresh[fresh.length - 1]!.seq;
            this.deliver(fresh);
          }
          if (rows.length < PAGE) break;
        }
      } while (st.again && st.positioned && !this.closed);
      st.running = false;
    } catch (error) {
      // The database is unreachable for now: try again shortly; `last` did not move, so nothing is lost.
      st.running = false;
      this.onError(error);
      if (!this.closed)
        setTimeout(() => {
          if (st.positioned) this.kick(orgID, st);
        }, RETRY_MS).unref();
    }
    this.forget(orgID, st);
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

function contiguous(list: readonly StoredEvent[], from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++) if (list[i]!.seq !== list[i - 1]!.seq + 1) return false;
  return true;
}

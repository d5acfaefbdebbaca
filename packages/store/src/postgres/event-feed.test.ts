import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Interest, StoredEvent } from '../store.js';
import { EventFeed } from './event-feed.js';

/**
 * The event feed against a model of the database it reads: an event log per org that this instance and others
 * append to, reads that run in any order and answer later in any order (each sees what was committed when it ran,
 * whatever came since), and wake-ups that arrive late but in order, as NOTIFY's do. Whatever the interleaving of interests taken and released, commits,
 * wake-ups and reads, an org's events reach the listeners in seq order, never twice, and every event after the
 * position an interest was given reaches them while the interest is held.
 */

const ORGS = ['o1', 'o2'] as const;
type Org = (typeof ORGS)[number];

type Op =
  | { kind: 'watch'; org: Org }
  | { kind: 'release'; pick: number }
  | { kind: 'commit'; org: Org; local: boolean; count: number }
  | { kind: 'wake' }
  | { kind: 'read'; pick: number }
  | { kind: 'answer'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('watch' as const), org: fc.constantFrom(...ORGS) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('commit' as const),
    org: fc.constantFrom(...ORGS),
    local: fc.boolean(),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constant('wake' as const) }),
  fc.record({ kind: fc.constant('read' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }),
);

interface Held {
  org: Org;
  interest: Interest;
  /** The position `ready` gave, once it resolved. */
  from: number | null;
  released: boolean;
}

class Model {
  readonly log = new Map<string, StoredEvent[]>(ORGS.map((o) => [o, []]));
  /** Reads waiting to run: running one takes what is committed then, and gives the answer to send later. */
  readonly reads: Array<() => () => void> = [];
  /** Reads that ran, whose answers are on their way. */
  readonly answers: Array<() => void> = [];
  /** Wake-ups in flight, in the order they were sent. */
  readonly wakeups: Array<[string, number]> = [];
  readonly emitted = new Map<string, number[]>(ORGS.map((o) => [o, []]));
  readonly held: Held[] = [];
  /** What went wrong inside the feed's callbacks, where a throw would be caught by the feed itself. */
  readonly faults: string[] = [];
  readonly feed: EventFeed;

  constructor() {
    this.feed = new EventFeed(
      (orgID, after, limit) =>
        new Promise((resolve) =>
          this.reads.push(() => {
            const rows = this.log
              .get(orgID)!
              .filter((e) => e.seq > after)
              .slice(0, limit);
            return () => resolve(rows);
          }),
        ),
      (orgID) =>
        new Promise((resolve) =>
          this.reads.push(() => {
            const seq = this.log.get(orgID)!.length;
            return () => resolve(seq);
          }),
        ),
      (events) => {
        for (const e of events) {
          if (!this.held.some((h) => h.org === e.orgID && !h.released))
            this.faults.push(`${e.orgID}: ${e.seq} handed over while nobody watched the org`);
          this.emitted.get(e.orgID)!.push(e.seq);
        }
      },
      (error) => this.faults.push(`the feed reported ${String(error)}`),
    );
  }

  commit(org: Org, local: boolean, count: number): void {
    const log = this.log.get(org)!;
    const batch: StoredEvent[] = [];
    for (let i = 0; i < count; i++) {
      const e: StoredEvent = {
        orgID: org,
        seq: log.length + 1,
        type: 'message',
        memberID: 'm',
        conversationID: 'c',
        message: null,
        payload: null,
      };
      log.push(e);
      batch.push(e);
    }
    if (local) this.feed.local(batch);
    // Every commit is announced to every instance (a local one's echo included) once it is visible.
    this.wakeups.push([org, log.length]);
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  async run(op: Op): Promise<void> {
    switch (op.kind) {
      case 'watch': {
        const h: Held = { org: op.org, interest: this.feed.watch(op.org), from: null, released: false };
        this.held.push(h);
        h.interest.ready.then(
          (seq) => (h.from = seq),
          (error: unknown) => this.faults.push(`ready rejected: ${String(error)}`),
        );
        break;
      }
      case 'release': {
        const live = this.held.filter((h) => !h.released);
        if (live.length === 0) return;
        const h = live[op.pick % live.length]!;
        h.released = true;
        h.interest.release();
        break;
      }
      case 'commit':
        this.commit(op.org, op.local, op.count);
        break;
      case 'wake': {
        const w = this.wakeups.shift();
        if (w !== undefined) this.feed.signal(w[0], w[1]);
        break;
      }
      case 'read': {
        if (this.reads.length === 0) return;
        this.answers.push(this.reads.splice(op.pick % this.reads.length, 1)[0]!());
        break;
      }
      case 'answer': {
        if (this.answers.length === 0) return;
        this.answers.splice(op.pick % this.answers.length, 1)[0]!();
        break;
      }
    }
    await this.settle();
  }

  /** Delivers every wake-up and answers every read, until nothing is left in flight. */
  async quiesce(): Promise<void> {
    const busy = () => this.wakeups.length + this.reads.length + this.answers.length > 0;
    for (let round = 0; round < 10_000 && busy(); round++) {
      if (this.answers.length > 0) this.answers.shift()!();
      else if (this.reads.length > 0) this.answers.push(this.reads.shift()!());
      else this.feed.signal(...this.wakeups.shift()!);
      await this.settle();
    }
    assert.ok(!busy(), 'the feed kept reading');
  }
}

describe('event feed: an org is read only while watched, in order, once, from the position its interest gave', () => {
  test('any interleaving of interests, commits, wake-ups and reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 80 }), async (ops) => {
        const m = new Model();
        for (const op of ops) await m.run(op);
        await m.quiesce();
        assert.deepEqual(m.faults, []);
        for (const org of ORGS) {
          const seqs = m.emitted.get(org)!;
          for (let i = 1; i < seqs.length; i++)
            assert.ok(seqs[i]! > seqs[i - 1]!, `${org}: ${seqs[i]} after ${seqs[i - 1]} (${seqs.join(',')})`);
          const total = m.log.get(org)!.length;
          // An interest still held: everything after the position it was given was delivered.
          for (const h of m.held.filter((x) => x.org === org && !x.released)) {
            assert.notEqual(h.from, null, 'a held interest became ready');
            for (let seq = h.from! + 1; seq <= total; seq++)
              assert.ok(seqs.includes(seq), `${org}: ${seq} missing after the position ${h.from} (${seqs.join(',')})`);
          }
        }
        // No interest left: nothing is read any more, whatever is committed and announced.
        for (const h of m.held) if (!h.released) h.interest.release();
        await m.settle();
        const before = m.reads.length + m.answers.length;
        m.commit('o1', false, 2);
        m.commit('o2', true, 1);
        m.feed.signal('o1', m.log.get('o1')!.length);
        m.feed.signal('o2', m.log.get('o2')!.length);
        await m.settle();
        assert.equal(m.reads.length + m.answers.length, before, 'an unwatched org was read');
        assert.deepEqual(m.feed.watched(), []);
        assert.deepEqual(m.faults, []);
      }),
      { numRuns: 2000 },
    );
  });
});

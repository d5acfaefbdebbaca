import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import type { CommitListener, EphemeralListener, Interest, Store, StoredEvent } from '@concierge/store';
import fc from 'fast-check';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import type { ServerConfig } from '../config.js';
import { decodeCursor } from '../cursor.js';
import { Hub } from './hub.js';

const ORG = 'org_test';
const SECRET = new Uint8Array(32).fill(7);
const PRINCIPAL: Principal = { kind: 'server', orgID: ORG, keyID: 'key_test' };

/** The slice of a ServerResponse the hub writes to; `text` is everything written. */
class FakeResponse extends EventEmitter {
  text = '';
  ended = false;
  readonly writableLength = 0;
  write(bytes: Buffer): boolean {
    this.text += bytes.toString('utf8');
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
}

/**
 * What the hub reads of a store: the event log (`listEventsAfter`, one org, no member filter here) and the commit
 * notifications. Each `listEventsAfter` call waits for the test: `read()` takes the page's snapshot of the log
 * (the moment the query runs) and `answer()` hands it to the hub, so the test decides which commits and publishes
 * happen before the snapshot, between snapshot and answer, and after.
 */
class StubStore {
  readonly log: StoredEvent[] = [];
  private listener: CommitListener | null = null;
  private published = 0;
  readonly reads: Read[] = [];

  commit(): void {
    const seq = this.log.length + 1;
    this.log.push({
      orgID: ORG,
      seq,
      type: 'read',
      memberID: 'mem_1',
      conversationID: 'conv_1',
      message: null,
      payload: { seq },
    });
  }

  /** Tells the hub of the next committed event, in seq order, as the store's commit hook does. */
  publish(): void {
    const event = this.log[this.published++];
    assert.ok(event !== undefined, 'published an event that was not committed');
    this.listener?.([event]);
  }

  get unpublished(): number {
    return this.log.length - this.published;
  }

  onCommit(listener: CommitListener): () => void {
    this.listener = listener;
    return () => (this.listener = null);
  }

  ephemeral: EphemeralListener | null = null;

  onEphemeral(listener: EphemeralListener): () => void {
    this.ephemeral = listener;
    return () => (this.ephemeral = null);
  }

  /**
   * When the org's events flow: at once by default, as the embedded store does (every commit is handed over as it
   * is published); a test may hold it, as a networked store does while it positions its feed.
   */
  ready: Promise<number | null> = Promise.resolve(null);

  watch(): Interest {
    return { ready: this.ready, release: () => {} };
  }

  listEventsAfter(orgID: string, memberID: string | null, after: number, limit: number): Promise<StoredEvent[]> {
    assert.equal(orgID, ORG);
    assert.equal(memberID, null);
    return new Promise((resolve) => {
      let page: StoredEvent[] | null = null;
      const read = () => (page ??= this.log.filter((e) => e.seq > after).slice(0, limit));
      this.reads.push({ read, answer: () => resolve(read()) });
    });
  }

  async listApiKeys(): Promise<[]> {
    return [];
  }

  async latestEventSeq(): Promise<number> {
    return this.log.length;
  }

  // No stream here is ended and resumed by the server: no resume points.
  async resumePoints(): Promise<number[]> {
    return [];
  }

  async takeResumePoint(): Promise<null> {
    return null;
  }

  async recordResumePoint(): Promise<void> {}

  async purgeResumePoints(): Promise<number> {
    return 0;
  }

  notificationsLive(): boolean {
    return true;
  }
}

interface Read {
  /** Runs the query: the page is what is committed now (once; later calls keep it). */
  read(): void;
  /** Hands the page to the hub (running the query first if it has not run). */
  answer(): void;
}

type HubStore = Pick<
  Store,
  | 'onCommit'
  | 'onEphemeral'
  | 'watch'
  | 'listEventsAfter'
  | 'listApiKeys'
  | 'notificationsLive'
  | 'latestEventSeq'
  | 'resumePoints'
  | 'takeResumePoint'
  | 'recordResumePoint'
  | 'purgeResumePoints'
>;

function hubOn(store: StubStore): Hub {
  // The streams here use a server credential, which stays valid; revocation is not what these tests are about.
  const auth: Pick<Authenticator, 'on' | 'cachedValidity' | 'stillValid'> = {
    on: () => auth as Authenticator,
    cachedValidity: () => 'valid',
    stillValid: () => Promise.resolve(true),
  };
  const config = { heartbeatSeconds: 3600, streamBufferBytes: 64 * 1024 * 1024 } as ServerConfig;
  return new Hub(store satisfies HubStore as unknown as Store, auth as Authenticator, config, SECRET);
}

/** The seqs of the events written (frames with data), and of the id-only resume point if there was one. */
function written(res: FakeResponse): { seqs: number[]; resumePoint: number | null } {
  const seqs: number[] = [];
  let resumePoint: number | null = null;
  for (const block of res.text.split('\n\n')) {
    const id = /^id: (.*)$/m.exec(block)?.[1];
    if (id === undefined) continue;
    const position = decodeCursor(SECRET, id);
    assert.ok(position !== null && position.kind === 'e' && position.stream === ORG, `a foreign id: ${id}`);
    if (/^data: /m.test(block)) seqs.push(position.seq);
    else resumePoint = position.seq;
  }
  return { seqs, resumePoint };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i + 1);

/** One run: `before` commits (of which `publishedBefore` published), open, then `steps` interleaved, then drain. */
async function handOver(o: {
  before: number;
  publishedBefore: number;
  after: number | null;
  steps: ReadonlyArray<'commit' | 'publish' | 'read' | 'answer'>;
}): Promise<{ seqs: number[]; resumePoint: number | null; expected: number[] }> {
  const store = new StubStore();
  const hub = hubOn(store);
  try {
    for (let i = 0; i < o.before; i++) store.commit();
    for (let i = 0; i < o.publishedBefore; i++) store.publish();
    const res = new FakeResponse();
    let done = false;
    const opening = hub
      .open(res as unknown as ServerResponse, { kind: 'org', orgID: ORG }, PRINCIPAL, o.after)
      .then(() => (done = true));
    await flush();
    for (const step of o.steps) {
      if (step === 'commit') store.commit();
      else if (step === 'publish') {
        if (store.unpublished > 0) store.publish();
      } else if (step === 'read') store.reads[0]?.read();
      else store.reads.shift()?.answer();
      await flush();
    }
    // Let the replay finish, then publish everything committed, as the store eventually does.
    while (!done) {
      store.reads.shift()?.answer();
      await flush();
    }
    await opening;
    while (store.unpublished > 0) store.publish();
    const from = o.after ?? (o.publishedBefore > 0 ? o.publishedBefore : 0);
    return { ...written(res), expected: range(from, store.log.length) };
  } finally {
    await hub.close();
  }
}

describe('signals reach a stream that is still starting', () => {
  test('a typing indicator sent while the store positions the org is written once the stream is live', async () => {
    const store = new StubStore();
    let fed!: (seq: number | null) => void;
    store.ready = new Promise((resolve) => (fed = resolve));
    const hub = hubOn(store);
    try {
      const res = new FakeResponse();
      const opening = hub.open(res as unknown as ServerResponse, { kind: 'org', orgID: ORG }, PRINCIPAL, null);
      await flush();
      store.ephemeral!({
        kind: 'typing',
        orgID: ORG,
        conversationID: 'conv_1',
        memberID: 'mem_1',
        typist: 'member',
        typistID: 'ext_1',
        at: new Date(0).toISOString(),
      });
      assert.doesNotMatch(res.text, /event: typing/, 'nothing is written before the stream is live');
      fed(null);
      await opening;
      assert.match(res.text, /event: typing\ndata: \{"conversationID":"conv_1","typist":"member"/);
    } finally {
      await hub.close();
    }
  });
});

describe('the hub hands a replay over to live events', () => {
  test('events committed and published while the replay page is in flight are written once, in order', async () => {
    const store = new StubStore();
    const hub = hubOn(store);
    try {
      for (let i = 0; i < 3; i++) store.commit();
      for (let i = 0; i < 3; i++) store.publish();
      const res = new FakeResponse();
      const opening = hub.open(res as unknown as ServerResponse, { kind: 'org', orgID: ORG }, PRINCIPAL, 1);
      await flush();
      assert.equal(store.reads.length, 1, 'the replay asks the store once');
      // The page is read (2, 3); meanwhile 4 commits and is published, so the hub holds it back; 5 commits before
      // the page arrives and is published only after the hand-over.
      store.reads[0]!.read();
      store.commit();
      store.publish();
      store.commit();
      store.reads.shift()!.answer();
      await opening;
      assert.deepEqual(written(res).seqs, [2, 3, 4]);
      store.publish();
      store.commit();
      store.publish();
      assert.deepEqual(written(res).seqs, [2, 3, 4, 5, 6]);
    } finally {
      await hub.close();
    }
  });

  test('a replay longer than one page reads page after page and still hands over without a gap', async () => {
    const steps = [
      ...Array<'commit'>(50).fill('commit'),
      'read',
      'publish',
      'answer',
      'commit',
      'publish',
      'read',
      'commit',
      'publish',
      'answer',
      'publish',
    ] as const;
    const { seqs, expected } = await handOver({ before: 1200, publishedBefore: 1200, after: 0, steps });
    assert.deepEqual(seqs, expected);
  });

  test('a live start (no resume point) sends the watermark as an id-only frame, then everything after it', async () => {
    const { seqs, resumePoint, expected } = await handOver({
      before: 5,
      publishedBefore: 3,
      after: null,
      steps: ['read', 'commit', 'publish', 'answer', 'commit'],
    });
    assert.equal(resumePoint, 3, 'the resume point is how far the hub has published, not how far the store is');
    assert.deepEqual(seqs, expected);
  });

  test('whatever the interleaving of commits, publishes and replay reads: each event once, in seq order (property)', async () => {
    const run = fc
      .record({
        before: fc.nat(30),
        published: fc.nat(30),
        after: fc.option(fc.nat(30)),
        steps: fc.array(fc.constantFrom('commit', 'publish', 'read', 'answer'), { maxLength: 40 }),
      })
      .map(({ before, published, after, steps }) => ({
        before,
        publishedBefore: Math.min(published, before),
        after: after === null ? null : Math.min(after, before),
        steps,
      }));
    await fc.assert(
      fc.asyncProperty(run, async (o) => {
        const { seqs, resumePoint, expected } = await handOver(o);
        assert.deepEqual(seqs, expected);
        if (o.after === null && o.publishedBefore > 0) assert.equal(resumePoint, o.publishedBefore);
      }),
      { numRuns: 200 },
    );
  });
});

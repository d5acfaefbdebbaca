import pg from 'pg';
import type { SendEffect, WriteResult } from '../dialect.js';
import { stateAfterSend } from '../rules/send-effect.js';
import {
  IDEMPOTENCY_TTL_MS,
  type IdempotencyScope,
  type MessageRecord,
  type StoredEvent,
  type StoredResponse,
} from '../store.js';
import { unmatchable } from './unmatchable.js';
import type { Started, StepRequest } from './op-driver.js';
import type { Notice } from './wakeups.js';

/**
 * A batch made only of sends, in two round trips on the writer connection, however many sends it holds (one when
 * the first one's answers are remembered from the last batch: see `FusedCache`):
 *
 * 1. `BEGIN`, the org rows locked in id order (returning their counters), and the owners of the conversations
 *    written to. Under the org row lock nobody else can move the counter, so the seq each send will take is known
 *    here: the counter plus its place among the batch's sends of that org, exactly as running them one by one.
 * 2. With those answers the rules run to their end in JavaScript (their `appendMessage` answered from the read,
 *    their `recordIdempotency` answered "recorded"), and everything they asked to write goes in ONE statement,
 *    followed by `COMMIT` in the same round trip: the messages, their events, the conversations' activity and
 *    unread counts, the org counters, the idempotency records and the NOTIFY. That statement checks what was
 *    assumed (every counter still where it was read, every idempotency key recorded) and raises an error if not,
 *    so the COMMIT behind it never runs on a wrong guess.
 *
 * The simple query protocol is what lets several statements share a round trip, and it takes no parameters:
 * every value is quoted as a literal by node-postgres' `escapeLiteral`. Anything this path does not expect (a
 * missing conversation, a key taken, another step) makes it give up: the transaction is rolled back and the
 * batch runs again through the general paths of group-commit.ts, which decide each op's fate exactly.
 */

type AppendArgs = [message: Omit<MessageRecord, 'seq'>, effect: SendEffect];
type RecordArgs = [scope: IdempotencyScope, fingerprint: string, response: StoredResponse, now: number];
/** The outbox step of a send (rules/common-steps.ts, `outbox`): its row goes in the same statement. */
type EnqueueArgs = [orgID: string, seq: number, type: string, data: string, createdAt: string];

export type FusedOutcome<O> =
  | { kind: 'committed'; results: { op: O; result: WriteResult<unknown> }[]; events: StoredEvent[] }
  /** A guess from the cache was wrong (or could not be checked): nothing is durable; run again with the read. */
  | { kind: 'read-first' }
  /** Nothing is durable; the batch must run through the general path. */
  | { kind: 'give-up' }
  /** The connection failed: nothing is durable, or COMMIT's fate is unknown. */
  | { kind: 'broken'; error: Error };

/** The error the write statement raises when an assumption failed (a text that is not an integer, on purpose). */
const CONFLICT = 'concierge: fused batch conflict';

const lit = (v: string | null): string => (v === null ? 'NULL' : pg.escapeLiteral(v));
const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
};
const texts = (vs: readonly (string | null)[], type: string): string => `ARRAY[${vs.map(lit).join(',')}]::${type}[]`;
const ints = (vs: readonly number[], type: string): string => `ARRAY[${vs.map(int).join(',')}]::${type}[]`;

/** Whether every op's first step is an `appendMessage` this path can take. */
export function allSends(started: readonly Started<unknown>[]): boolean {
  return started.every((s) => {
    if (s.next.done === true) return false;
    const step = s.next.value as StepRequest;
    if (step.method !== 'appendMessage') return false;
    const [m] = step.args as AppendArgs;
    return !unmatchable([m.orgID, m.conversationID]);
  });
}

/** A conversation as a send needs it: its org and member, and its state (which a send changes, and reports). */
type Owner = { org_id: string; member_id: string; status: string; awaiting: boolean };

/**
 * What the first round trip reads, remembered for the next batches: the org counters as this instance's last
 * commit left them, and the conversations' owners and state (status, awaiting a reply) as it last wrote them. With
 * both known, a batch of sends is one round trip (`BEGIN`, the lock, the statement and `COMMIT` in one string), as
 * the bare reference's is. A guess is only a guess: the statement checks each counter and each conversation's state,
 * a deleted conversation fails the messages' foreign key, and a failed guess forgets what it assumed and runs again
 * with the read. Another instance's commits, or any batch of this one that took the general path, make the
 * counters stale: the group commit forgets them then (or the check catches it).
 */
export class FusedCache {
  private readonly counters = new Map<string, number>();
  private readonly owners = new Map<string, Owner>();
  /** Whether the org had an enabled webhook endpoint (the statement checks a `false` before it commits). */
  private readonly hooks = new Map<string, boolean>();

  webhooks(orgID: string): boolean | undefined {
    return this.hooks.get(orgID);
  }

  noteWebhooks(orgID: string, any: boolean): void {
    this.hooks.set(orgID, any);
  }

  counter(orgID: string): number | undefined {
    return this.counters.get(orgID);
  }

  owner(conversationID: string): Owner | undefined {
    return this.owners.get(conversationID);
  }

  noteCounter(orgID: string, seq: number): void {
    this.counters.set(orgID, seq);
  }

  noteOwner(conversationID: string, owner: Owner): void {
    if (this.owners.size >= 100_000) this.owners.clear();
    this.owners.set(conversationID, {
      org_id: owner.org_id,
      member_id: owner.member_id,
      status: owner.status,
      awaiting: owner.awaiting,
    });
  }

  forget(orgs: Iterable<string>, conversations: Iterable<string> = []): void {
    for (const o of orgs) {
      this.counters.delete(o);
      this.hooks.delete(o);
    }
    for (const c of conversations) this.owners.delete(c);
  }
}

interface Send<O> {
  started: Started<O>;
  message: MessageRecord;
  memberID: string;
  unread: 0 | 1;
  idem: RecordArgs | null;
  enqueue: EnqueueArgs[];
}

export async function runFusedSends<O>(
  started: readonly Started<O>[],
  client: pg.ClientBase,
  notice: Notice | null,
  cache: FusedCache,
  mayGuess: boolean,
): Promise<FusedOutcome<O>> {
  const appends = started.map((s) => (s.next.value as StepRequest).args as AppendArgs);
  const orgs = [...new Set(appends.map(([m]) => m.orgID))].sort();
  const conversations = [...new Set(appends.map(([m]) => m.conversationID))];
  // The org rows' lock, their counters, and whether each org has an enabled webhook endpoint (the outbox).
  const lock = `BEGIN; SELECT id, event_seq,
      EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.org_id = orgs.id AND w.disabled_at IS NULL) AS webhooks
    FROM orgs WHERE id IN (${orgs.map(lit).join(',')}) ORDER BY id FOR NO KEY UPDATE`;
  const guess =
    mayGuess &&
    orgs.every((o) => cache.counter(o) !== undefined && cache.webhooks(o) !== undefined) &&
    conversations.every((c) => cache.owner(c) !== undefined);
  const counters = new Map<string, number>();
  const hooks = new Map<string, boolean>();
  const owners = new Map<string, Owner>();
  if (guess) {
    for (const o of orgs) {
      counters.set(o, cache.counter(o)!);
      hooks.set(o, cache.webhooks(o)!);
    }
    for (const c of conversations) owners.set(c, cache.owner(c)!);
  } else {
    type Rows<R> = { rows: R[] };
    let read: [Rows<unknown>, Rows<{ id: string; event_seq: string; webhooks: boolean }>, Rows<{ id: string } & Owner>];
    try {
      read = (await client.query(
        `${lock}; SELECT id, org_id, member_id, status, awaiting FROM conversations
         WHERE id IN (${conversations.map(lit).join(',')})`,
      )) as unknown as typeof read;
    } catch (error) {
      return giveUp(client, error);
    }
    for (const r of read[1].rows) {
      counters.set(r.id, Number(r.event_seq));
      hooks.set(r.id, r.webhooks === true);
    }
    for (const r of read[2].rows) {
      owners.set(r.id, r);
      cache.noteOwner(r.id, r);
    }
  }
  const expected = new Map(counters);
  // Each conversation's state as assumed at the start (checked by the statement) and as each send leaves it.
  const assumed = new Map([...owners].map(([id, o]) => [id, { status: o.status, awaiting: o.awaiting }]));
  const states = new Map(assumed);
  // Before anything is sent on a guess there is no transaction to roll back.
  const abandon = (): Promise<FusedOutcome<O>> => (guess ? Promise.resolve({ kind: 'read-first' }) : rollBack(client));

  // The rules run on, answered from the read, in batch order: the seqs they take are the ones they would take.
  const sends: Send<O>[] = [];
  const results: { op: O; result: WriteResult<unknown> }[] = [];
  try {
    for (const [i, s] of started.entries()) {
      const [draft, effect] = appends[i]!;
      const owner = owners.get(draft.conversationID);
      const counter = counters.get(draft.orgID);
      if (owner === undefined || owner.org_id !== draft.orgID || counter === undefined) return abandon();
      counters.set(draft.orgID, counter + 1);
      // As `appendMessage` alone: it reports the state before, and the send's effect makes the state after.
      const state = states.get(draft.conversationID)!;
      const before = { status: state.status === 'closed' ? 'closed' : 'open', awaitingReply: state.awaiting } as const;
      const after = stateAfterSend(before, effect);
      states.set(draft.conversationID, { status: after.status, awaiting: after.awaitingReply });
      const send: Send<O> = {
        started: s,
        message: { ...draft, seq: counter + 1 },
        memberID: owner.member_id,
        unread: effect.unread,
        idem: null,
        enqueue: [],
      };
      const webhooks = hooks.get(draft.orgID) === true;
      s.next = s.gen.next({ seq: counter + 1, memberID: owner.member_id, before, webhooks });
      // The outbox row, then the idempotency record: both written by the one statement below.
      while (s.next.done !== true) {
        const step = s.next.value as StepRequest;
        if (step.method === 'enqueueWebhooks') {
          send.enqueue.push(step.args as EnqueueArgs);
          s.next = s.gen.next(0);
        } else if (step.method === 'recordIdempotency' && send.idem === null) {
          send.idem = step.args as RecordArgs;
          s.next = s.gen.next(true);
        } else return abandon();
      }
      sends.push(send);
      results.push({ op: s.op, result: s.next.value });
    }
  } catch {
    // A rule threw on its answers (it would have alone too): the general path gives that op its error.
    return abandon();
  }
  const events = results.flatMap((r) => r.result.events).sort((a, b) => a.seq - b.seq);
  const sql = writeStatement(
    sends,
    orgs,
    expected,
    counters,
    assumed,
    states,
    hooks,
    notice === null ? null : `pg_notify(${lit(notice.channel)}, ${lit(notice.payload(events))}), `,
  );
  try {
    await client.query(guess ? `${lock}; ${sql}; COMMIT` : `${sql}; COMMIT`);
  } catch (error) {
    cache.forget(orgs, conversations);
    const outcome = await giveUp<O>(client, error);
    return guess && outcome.kind === 'give-up' ? { kind: 'read-first' } : outcome;
  }
  for (const [o, seq] of counters) cache.noteCounter(o, seq);
  for (const [o, any] of hooks) cache.noteWebhooks(o, any);
  for (const [id, state] of states) cache.noteOwner(id, { ...owners.get(id)!, ...state });
  return { kind: 'committed', results, events };
}

/** Rolls back after a failed statement: a lost connection breaks the batch, anything else sends it the long way. */
async function giveUp<O>(client: pg.ClientBase, error: unknown): Promise<FusedOutcome<O>> {
  const code = (error as { code?: string }).code;
  if (code === undefined || code.startsWith('08') || code.startsWith('57P'))
    return { kind: 'broken', error: error as Error };
  return rollBack(client);
}

async function rollBack<O>(client: pg.ClientBase): Promise<FusedOutcome<O>> {
  try {
    await client.query('ROLLBACK');
  } catch (error) {
    return { kind: 'broken', error: error as Error };
  }
  return { kind: 'give-up' };
}

/** The batch's writes as one statement; see postgres-queries.ts (`appendMessage`, `recordIdempotency`). */
function writeStatement<O>(
  sends: readonly Send<O>[],
  orgs: readonly string[],
  expected: ReadonlyMap<string, number>,
  last: ReadonlyMap<string, number>,
  assumed: ReadonlyMap<string, { status: string; awaiting: boolean }>,
  states: ReadonlyMap<string, { status: string; awaiting: boolean }>,
  hooks: ReadonlyMap<string, boolean>,
  /** The wake-up sent with the commit (`pg_notify(…), `), or null where wake-ups go another way. */
  wakeUp: string | null,
): string {
  const m = sends.map((s) => s.message);
  // The outbox (rules/common-steps.ts, `outbox`): as `enqueueWebhooks` does for one event, for every event of the batch.
  const q = sends.flatMap((s) => s.enqueue);
  const deliveries =
    q.length === 0
      ? ''
      : `,
    d AS (
      INSERT INTO webhook_outbox (org_id, seq, type, data, created_at)
      SELECT * FROM unnest(${texts(
        q.map(([o]) => o),
        'text',
      )}, ${ints(
        q.map(([, n]) => n),
        'bigint',
      )}, ${texts(
        q.map(([, , t]) => t),
        'text',
      )}, ${texts(
        q.map(([, , , d]) => d),
        'text',
      )}, ${texts(
        q.map(([, , , , c]) => c),
        'timestamptz',
      )})
    )`;
  // Orgs assumed to have no enabled endpoint: if one has one now, the batch is run again with a read.
  const hookless = [...hooks].filter(([, any]) => !any).map(([o]) => o);
  const noNewHooks =
    hookless.length === 0
      ? ''
      : ` AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE org_id IN (${hookless.map(lit).join(',')})
            AND disabled_at IS NULL)`;
  const keyed = sends.flatMap((s) => (s.idem === null ? [] : [s.idem]));
  const bool = (b: boolean): string => (b ? 'true' : 'false');
  // Each conversation's state as assumed (checked) and as the batch's sends leave it (written).
  const stateRows = [...assumed].map(([id, st]) => {
    const after = states.get(id)!;
    return `(${lit(id)}, ${lit(st.status)}, ${bool(st.awaiting)}, ${lit(after.status)}, ${bool(after.awaiting)})`;
  });
  const counterRows = orgs.map((o) => `(${lit(o)}, ${int(expected.get(o)!)}::bigint, ${int(last.get(o)!)}::bigint)`);
  const keys =
    keyed.length === 0
      ? ''
      : `,
    k AS (
      INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
      SELECT * FROM unnest(${texts(
        keyed.map(([s]) => s.orgID),
        'text',
      )}, ${texts(
        keyed.map(([s]) => s.principal),
        'text',
      )}, ${texts(
        keyed.map(([s]) => s.key),
        'text',
      )},
        ${texts(
          keyed.map(([, f]) => f),
          'text',
        )}, ${ints(
          keyed.map(([, , r]) => r.status),
          'int',
        )}, ${texts(
          keyed.map(([, , r]) => r.body),
          'text',
        )},
        ${ints(
          keyed.map(([, , , now]) => now),
          'bigint',
        )})
      ON CONFLICT (org_id, principal, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
            created_at = EXCLUDED.created_at
        WHERE idempotency_keys.created_at < EXCLUDED.created_at - ${int(IDEMPOTENCY_TTL_MS)}
      RETURNING 1
    )`;
  return `
    WITH o AS (
      UPDATE orgs SET event_seq = x.last FROM (VALUES ${counterRows.join(', ')}) AS x(id, expected, last)
      WHERE orgs.id = x.id AND orgs.event_seq = x.expected RETURNING 1
    ),
    i AS (
      SELECT * FROM unnest(${texts(
        m.map((x) => x.conversationID),
        'text',
      )}, ${ints(
        m.map((x) => x.seq),
        'bigint',
      )}, ${texts(
        m.map((x) => x.id),
        'text',
      )}, ${texts(
        m.map((x) => x.orgID),
        'text',
      )},
        ${texts(
          m.map((x) => x.type),
          'text',
        )}, ${texts(
          m.map((x) => x.authorID),
          'text',
        )}, ${texts(
          m.map((x) => x.body),
          'text',
        )}, ${texts(
          m.map((x) => x.via),
          'text',
        )},
        ${texts(
          m.map((x) => x.createdAt),
          'timestamptz',
        )}, ${ints(
          sends.map((s) => s.unread),
          'int',
        )}, ${texts(
          sends.map((s) => s.memberID),
          'text',
        )})
        AS i(conversation_id, seq, id, org_id, type, author_id, body, via, created_at, unread, member_id)
    ),
    m AS (
      INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
      SELECT conversation_id, seq, id, org_id, type, author_id, body, via, created_at FROM i
    ),
    t AS (
      UPDATE conversations SET last_message_at = x.created_at, last_seq = x.seq,
                               member_unread = member_unread + x.unread, awaiting = b.awaiting_after,
                               status = b.status_after
      FROM (SELECT DISTINCT ON (conversation_id) conversation_id, seq, created_at,
                   sum(unread) OVER (PARTITION BY conversation_id) AS unread
            FROM i ORDER BY conversation_id, seq DESC) x,
           (VALUES ${stateRows.join(', ')}) AS b(id, status, awaiting, status_after, awaiting_after)
      WHERE conversations.id = x.conversation_id AND b.id = x.conversation_id
        AND conversations.status = b.status AND conversations.awaiting = b.awaiting
      RETURNING 1
    ),
    e AS (
      INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
      SELECT org_id, seq, 'message', member_id, conversation_id, NULL FROM i
    )${keys}${deliveries}
    SELECT ${wakeUp ?? ''}CASE
      WHEN (SELECT count(*) FROM o) = ${int(orgs.length)} AND (SELECT count(*) FROM t) = ${int(assumed.size)}${keyed.length === 0 ? '' : ` AND (SELECT count(*) FROM k) = ${int(keyed.length)}`}${noNewHooks}
      THEN 0 ELSE (${lit(CONFLICT)} || (SELECT count(*) FROM o))::int
    END`;
}

import type pg from 'pg';
import type { MessageRecord, IdempotencyScope, StoredResponse } from '../store.js';
import { IDEMPOTENCY_TTL_MS } from '../store.js';
import { unmatchable } from './postgres-queries.js';
import { query } from './prepared.js';

/**
 * Steps of many ops of one batch, each as ONE statement (`… FROM unnest($1::text[], …) WITH ORDINALITY`): the
 * writer connection spends its time on round trips, and a batch of sends would otherwise pay two per send. Each
 * writes exactly what the same step of `PostgresTx` (postgres-queries.ts) writes once per op, in op order, and
 * answers each op what that step would have answered it; a change to one must be made to the other (the suites
 * run sends one at a time and many at once).
 */

type AppendArgs = [message: Omit<MessageRecord, 'seq'>, unread: 0 | 1];
type AppendAnswer = { seq: number; memberID: string } | null;

/**
 * `appendMessage` for many messages: seqs are handed out per org in op order from one bump of the org's counter,
 * so op i gets what it would have got running i-th. Messages to a missing conversation take no seq and answer
 * null, as alone. A conversation with several messages in the batch ends with the last one's activity and the sum
 * of their unread increments.
 */
const APPEND_MESSAGES = `
  WITH i AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::timestamptz[], $9::int[])
      WITH ORDINALITY AS i(conversation_id, org_id, id, type, author_id, body, via, created_at, unread, n)
  ),
  h AS (
    SELECT i.*, c.member_id,
           row_number() OVER (PARTITION BY i.org_id ORDER BY i.n) AS k,
           count(*) OVER (PARTITION BY i.org_id) AS total
    FROM i JOIN conversations c ON c.id = i.conversation_id AND c.org_id = i.org_id
  ),
  s AS (
    UPDATE orgs SET event_seq = orgs.event_seq + x.total
    FROM (SELECT DISTINCT org_id, total FROM h) x WHERE orgs.id = x.org_id
    RETURNING orgs.id, orgs.event_seq - x.total AS base
  ),
  r AS (SELECT h.*, s.base + h.k AS seq FROM h JOIN s ON s.id = h.org_id),
  m AS (
    INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
    SELECT conversation_id, seq, id, org_id, type, author_id, body, via, created_at FROM r
  ),
  t AS (
    UPDATE conversations SET last_message_at = x.created_at, last_seq = x.seq,
                             member_unread = member_unread + x.unread
    FROM (SELECT DISTINCT ON (conversation_id) conversation_id, seq, created_at,
                 sum(unread) OVER (PARTITION BY conversation_id) AS unread
          FROM r ORDER BY conversation_id, seq DESC) x
    WHERE conversations.id = x.conversation_id
  ),
  e AS (
    INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
    SELECT org_id, seq, 'message', member_id, conversation_id, NULL FROM r
  )
  SELECT n, seq, member_id FROM r`;

export async function appendMessages(c: pg.ClientBase, all: readonly AppendArgs[]): Promise<AppendAnswer[]> {
  // An id holding NUL names no conversation (as alone: null), and would break the whole statement.
  const at = all.flatMap(([m], i) => (unmatchable([m.orgID, m.conversationID]) ? [] : [i]));
  const ops = at.map((i) => all[i]!);
  const answers: AppendAnswer[] = all.map(() => null);
  if (ops.length === 0) return answers;
  const col = <T>(f: (a: AppendArgs) => T): T[] => ops.map(f);
  const { rows } = await query<{ n: string; seq: string; member_id: string }>(c, APPEND_MESSAGES, [
    col(([m]) => m.conversationID),
    col(([m]) => m.orgID),
    col(([m]) => m.id),
    col(([m]) => m.type),
    col(([m]) => m.authorID),
    col(([m]) => m.body),
    col(([m]) => m.via),
    col(([m]) => m.createdAt),
    col(([, unread]) => unread),
  ]);
  for (const r of rows) answers[at[Number(r.n) - 1]!] = { seq: Number(r.seq), memberID: r.member_id };
  return answers;
}

type RecordArgs = [scope: IdempotencyScope, fingerprint: string, response: StoredResponse, now: number];

/**
 * `recordIdempotency` for many keys: true for each key inserted (or replacing one past its lifetime). The same key
 * twice in one statement is an error of the whole statement (ON CONFLICT cannot touch a row twice); the batch
 * then runs again one op at a time, where the second finds the first's record, as alone.
 */
const RECORD_IDEMPOTENCY = `
  INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bigint[])
  ON CONFLICT (org_id, principal, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
        created_at = EXCLUDED.created_at
    WHERE idempotency_keys.created_at < EXCLUDED.created_at - $8::bigint
  RETURNING org_id, principal, key`;

const scopeKey = (orgID: string, principal: string, key: string): string => `${orgID}\u0000${principal}\u0000${key}`;

export async function recordIdempotencies(c: pg.ClientBase, ops: readonly RecordArgs[]): Promise<boolean[]> {
  const col = <T>(f: (a: RecordArgs) => T): T[] => ops.map(f);
  const { rows } = await query<{ org_id: string; principal: string; key: string }>(c, RECORD_IDEMPOTENCY, [
    col(([s]) => s.orgID),
    col(([s]) => s.principal),
    col(([s]) => s.key),
    col(([, fingerprint]) => fingerprint),
    col(([, , response]) => response.status),
    col(([, , response]) => response.body),
    col(([, , , now]) => now),
    IDEMPOTENCY_TTL_MS,
  ]);
  const written = new Set(rows.map((r) => scopeKey(r.org_id, r.principal, r.key)));
  return ops.map(([s]) => written.has(scopeKey(s.orgID, s.principal, s.key)));
}

/** The steps that have a many-op form, by `WriteTx` method name. */
export const BATCHED_STEPS: ReadonlyMap<string, (c: pg.ClientBase, ops: readonly never[]) => Promise<unknown[]>> =
  new Map<string, (c: pg.ClientBase, ops: readonly never[]) => Promise<unknown[]>>([
    ['appendMessage', appendMessages],
    ['recordIdempotency', recordIdempotencies],
  ]);

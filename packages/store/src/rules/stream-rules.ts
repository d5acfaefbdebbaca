import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import type { ResumePoint } from '../store.js';
import { nothing } from './common-steps.js';

/** What streams keep: spent tickets, and where a stream the server ended stopped (resume points). */

export function* spendTicket(tx: WriteTx, nonce: string, expiresAt: number): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.spendTicket(nonce, expiresAt)));
}

export function* purgeSpentTickets(tx: WriteTx, now: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeSpentTickets(now)));
}

export function* recordResumePoint(tx: WriteTx, point: ResumePoint): Rule<WriteResult<undefined>> {
  yield* step(tx.insertResumePoint(point));
  return nothing(undefined);
}

/**
 * Takes one resume point (the lowest position, or the one at `seq`): a reconnect without a resume point of its own
 * is given the earliest place a stream of its holder stopped, so it may see a message again but never miss one.
 * Another instance may take the same row meanwhile: its delete then finds nothing and the next row is tried.
 */
export function* takeResumePoint(
  tx: WriteTx,
  holder: string,
  stream: string,
  now: number,
  seq: number | null,
): Rule<WriteResult<number | null>> {
  for (const row of yield* step(tx.resumePointRows(holder, stream, now))) {
    if (seq !== null && row.seq !== seq) continue;
    if (yield* step(tx.deleteResumePoint(row.n))) return nothing(row.seq);
  }
  return nothing(null);
}

export function* purgeResumePoints(tx: WriteTx, now: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeResumePoints(now)));
}

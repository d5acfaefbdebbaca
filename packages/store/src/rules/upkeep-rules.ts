import { randomBytes } from 'node:crypto';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import { nothing } from './common-steps.js';

/** The server's upkeep writes: expired idempotency records purged, and the probe that tells writes work again. */

export function* purgeIdempotency(tx: WriteTx, before: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeIdempotency(before)));
}

/** As large as a big message, not a byte: on a full disk a tiny write may still fit where a client's does not. */
export function* probeWrite(tx: WriteTx): Rule<WriteResult<undefined>> {
  yield* step(tx.writeProbe(randomBytes(64 * 1024)));
  return nothing(undefined);
}

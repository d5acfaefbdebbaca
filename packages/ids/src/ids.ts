import { hash, randomFillSync } from 'node:crypto';

/**
 * Random bytes come from a pool refilled 4 KiB at a time: one call into the CSPRNG per ~400 ids instead of one per
 * id (a per-id `randomBytes` showed up as 9% of the send path's CPU).
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

export function randomChunk(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  offset += n;
  return out;
}

/**
 * Public ids: a type prefix, a millisecond time part (so ids sort roughly by creation and index inserts stay
 * local) and about 79 random bits (so ids cannot be guessed or enumerated across members). 80 bits are drawn, as
 * 14 base64url characters; folding `-` and `_` into `x` (ids stay one word when double-clicked) leaves each of the
 * 13 full characters about 5.93 bits instead of 6, plus 2 bits in the last: 79.0 bits.
 */
export function newID(
  prefix: 'org' | 'key' | 'mem' | 'conv' | 'msg' | 'agt' | 'ags' | 'note' | 'wh' | 'whmsg',
): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomChunk(10).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/**
 * An id of newID's shape made from what it names, the same every time: the time part from `ms`, the rest from a
 * SHA-256 of `seed`. For a thing that must keep its id though nothing stored it yet (a webhook delivery made from
 * the outbox, whose `webhook-id` must be the same when another instance sends it again after a crash). The seed
 * holds a random id (the endpoint's), so these are no easier to guess than newID's.
 */
export function derivedID(prefix: 'whmsg', ms: number, seed: string): string {
  const digest = hash('sha256', seed, 'base64url').slice(0, 14);
  return `${prefix}_${ms.toString(36).padStart(9, '0')}${digest.replace(/[-_]/g, 'x')}`;
}

export function nowISO(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}

import { derivedID } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import type {
  ClaimedWebhookDelivery,
  WebhookClaim,
  WebhookClaimResult,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
  WebhookOutboxRow,
} from '../webhook-records.js';
import { nothing } from './common-steps.js';

/** The deliverer's claim on deliveries and outbox ranges, and what it gives back or drops when done with them. */

/** Rows read at a time when a claim takes over a range (see takeOver). */
const TAKEOVER_PAGE = 1000;

/** The `webhook-id` of the endpoint's delivery of an outbox row: the same whichever instance makes it, and when. */
function outboxDeliveryID(endpointID: string, row: WebhookOutboxRow): string {
  return derivedID('whmsg', Date.parse(row.createdAt), `${endpointID}:${row.seq}`);
}

/** A delivery made from an outbox row by `claim`: not stored (n 0) until its first attempt's outcome is. */
function outboxDelivery(endpoint: WebhookEndpointRecord, row: WebhookOutboxRow, claim: WebhookClaim) {
  const delivery: WebhookDeliveryRecord = {
    n: 0,
    id: outboxDeliveryID(endpoint.id, row),
    orgID: endpoint.orgID,
    endpointID: endpoint.id,
    eventType: row.type,
    data: row.data,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    leaseOwner: claim.owner,
    leaseUntil: claim.leaseUntil,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastLatencyMs: null,
    lastError: null,
    lastResponseBody: null,
    createdAt: row.createdAt,
  };
  return { delivery, endpoint, outboxSeq: row.seq };
}

/**
 * The rows of a range its holder gave up or lost (it stopped, or died and its lease ran out) that it did not
 * record: every one from the cursor up to the range's end whose delivery is not stored, whatever the room, since
 * the cursor cannot pass them until someone records them. Those it recorded are not sent again; those it sent and
 * did not record are, with the same `webhook-id`.
 */
function* takeOver(tx: WriteTx, endpoint: WebhookEndpointRecord, types: string[] | null, end: number) {
  const rows: WebhookOutboxRow[] = [];
  for (let from = endpoint.outboxSeq; from < end;) {
    const read = yield* step(tx.webhookOutboxAfter(endpoint.orgID, from, types, TAKEOVER_PAGE));
    const page = read.rows.filter((r) => r.seq <= end);
    const stored = new Set(yield* step(tx.storedWebhookDeliveries(page.map((r) => outboxDeliveryID(endpoint.id, r)))));
    rows.push(...page.filter((r) => !stored.has(outboxDeliveryID(endpoint.id, r))));
    if (read.rows.length < TAKEOVER_PAGE) break;
    from = read.scannedTo;
  }
  return rows;
}

/**
 * The deliverer's claim. For each enabled endpoint, up to its room (its cap less what this instance holds):
 *
 * - first the due deliveries already stored (retries, replays, tests), leased row by row;
 * - then new ones from the outbox after the endpoint's range, if no other instance holds the range: the range is
 *   leased to this instance up to how far the read looked (rows of types the endpoint does not subscribe to are
 *   passed over), and the deliveries are made in memory, not stored. Each is written once, with its first
 *   attempt's outcome (recordWebhookAttempts), so a delivery costs one write instead of two.
 *
 * The cursor moves up to just below the lowest delivery this instance took and has not recorded (`claim.floors`
 * and what it takes now), and the range is given up once nothing of it is outstanding. If the instance dies, its
 * unrecorded deliveries are still after the cursor, in the outbox; the next claim after the lease ran out takes
 * the range over and sends them (takeOver). Each event becomes one delivery per endpoint, whichever instance
 * claims it; an attempt may be made twice only by two holders of a range, with the same `webhook-id`.
 */
export function* claimWebhookDeliveries(tx: WriteTx, claim: WebhookClaim): Rule<WriteResult<WebhookClaimResult>> {
  const out: ClaimedWebhookDelivery[] = [];
  const ranges: Record<string, number | null> = {};
  const rooms: { endpoint: WebhookEndpointRecord; room: number }[] = [];
  let left = claim.limit;
  for (const endpoint of yield* step(tx.claimableWebhookEndpoints())) {
    const cap = claim.caps[endpoint.id] ?? claim.perEndpoint;
    const room = Math.min(cap - (claim.held[endpoint.id] ?? 0), left);
    if (room <= 0) continue;
    rooms.push({ endpoint, room });
    left -= room;
  }
  if (rooms.length === 0) return nothing({ deliveries: out, ranges });
  const byID = new Map(rooms.map((r) => [r.endpoint.id, r]));
  const due = yield* step(
    tx.leaseDueWebhookDeliveries(
      rooms.map((r) => ({ endpointID: r.endpoint.id, room: r.room })),
      claim.owner,
      claim.now,
      claim.leaseUntil,
    ),
  );
  for (const delivery of due) {
    const r = byID.get(delivery.endpointID);
    if (r === undefined) continue;
    r.room--;
    out.push({ delivery, endpoint: r.endpoint, outboxSeq: null });
  }
  for (const { endpoint, room } of rooms) {
    const mine = endpoint.rangeOwner === claim.owner;
    // Another instance is sending this endpoint's new events, and its lease holds.
    if (endpoint.rangeOwner !== null && !mine && !claim.soleInstance && (endpoint.rangeUntil ?? 0) >= claim.now)
      continue;
    const types = endpoint.events.includes('*') ? null : endpoint.events;
    const taken: WebhookOutboxRow[] = [];
    // Up to where the range now reaches: rows after it are neither taken nor passed over yet.
    let to = mine ? Math.max(endpoint.outboxSeq, endpoint.rangeTo ?? 0) : endpoint.outboxSeq;
    if (!mine && endpoint.rangeTo !== null && endpoint.rangeTo > endpoint.outboxSeq) {
      taken.push(...(yield* takeOver(tx, endpoint, types, endpoint.rangeTo)));
      to = endpoint.rangeTo;
    }
    const more = room - taken.length;
    if (more > 0) {
      const read = yield* step(tx.webhookOutboxAfter(endpoint.orgID, to, types, more));
      taken.push(...read.rows);
      to = read.scannedTo;
    }
    for (const row of taken) out.push(outboxDelivery(endpoint, row, claim));
    const floor = Math.min(claim.floors[endpoint.id] ?? Infinity, taken[0]?.seq ?? Infinity);
    const cursor = Math.max(endpoint.outboxSeq, Math.min(floor - 1, to));
    if (floor === Infinity) {
      // Nothing outstanding: the cursor passes everything looked at, and no range is held.
      ranges[endpoint.id] = null;
      if (cursor !== endpoint.outboxSeq || endpoint.rangeOwner !== null || endpoint.rangeTo !== null)
        yield* step(tx.setWebhookRange(endpoint.id, { cursor, owner: null, until: null, to: null }));
      continue;
    }
    ranges[endpoint.id] = to;
    // A range kept as it was needs no write until half its lease is gone (records renew it too).
    const unchanged = mine && cursor === endpoint.outboxSeq && to === endpoint.rangeTo;
    const fresh = (endpoint.rangeUntil ?? 0) - claim.now > (claim.leaseUntil - claim.now) / 2;
    if (!(unchanged && fresh))
      yield* step(tx.setWebhookRange(endpoint.id, { cursor, owner: claim.owner, until: claim.leaseUntil, to }));
  }
  return nothing({ deliveries: out, ranges });
}

/**
 * A stopping deliverer's queued deliveries, not attempted: the stored ones due again now, and its ranges given up
 * with the cursor below what it did not record, for whichever instance claims next.
 */
export function* releaseWebhookDeliveries(
  tx: WriteTx,
  deliveryIDs: readonly string[],
  owner: string,
  now: number,
  cursors: Record<string, number>,
): Rule<WriteResult<number>> {
  for (const [endpointID, cursor] of Object.entries(cursors))
    yield* step(tx.advanceWebhookRange(endpointID, owner, cursor, now, true));
  return nothing(yield* step(tx.releaseWebhookDeliveries(deliveryIDs, owner, now)));
}

/** Drops the outbox rows every endpoint has made its deliveries from (the deliverer runs it at every poll). */
export function* trimWebhookOutbox(tx: WriteTx): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.trimWebhookOutbox()));
}

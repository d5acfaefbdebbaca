import { nowISO } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import type {
  WebhookAttempt,
  WebhookAttemptResult,
  WebhookEndpointRecord,
  WebhookOutboxRow,
  WebhookRangeProgress,
} from '../webhook-records.js';
import { nothing } from './common-steps.js';

/** What the deliverer's attempts come to: each delivery's outcome, the endpoint's failing run, retention. */

/**
 * What an attempt means: a 2xx delivers and ends the endpoint's failing run; anything else is retried at
 * `retryAt` (or given up when there is none), starts the failing run if none is running, and disables the
 * endpoint on a 410 or once the run has lasted `disableAfterMs`.
 */
function* recordWebhookAttempt(
  tx: WriteTx,
  a: WebhookAttempt,
  endpoints: Map<string, WebhookEndpointRecord | null>,
  outboxRows: Map<string, WebhookOutboxRow | null>,
): Rule<WriteResult<WebhookAttemptResult>> {
  const status = a.ok ? 'delivered' : a.retryAt === null || a.gone ? 'failed' : 'pending';
  const nextAttemptAt = a.ok || a.gone ? null : a.retryAt;
  let endpointID: string | null;
  if (a.fresh !== null) {
    // Its row is made now, from the outbox row it was made from: gone when its member was erased meanwhile (then
    // nothing about them is written back), or when another instance took the range over and recorded it.
    // One read per event per batch: its deliveries to every endpoint usually end in the same batch.
    const key = `${a.fresh.orgID} ${a.fresh.seq}`;
    let row = outboxRows.get(key);
    if (row === undefined) {
      row = yield* step(tx.webhookOutboxRow(a.fresh.orgID, a.fresh.seq));
      outboxRows.set(key, row);
    }
    const made =
      row !== null &&
      (yield* step(
        tx.insertAttemptedWebhookDelivery({
          n: 0,
          id: a.deliveryID,
          orgID: a.fresh.orgID,
          endpointID: a.fresh.endpointID,
          eventType: row.type,
          data: row.data,
          status,
          attempts: 1,
          nextAttemptAt,
          leaseOwner: null,
          leaseUntil: null,
          lastAttemptAt: a.at,
          lastStatusCode: a.statusCode,
          lastLatencyMs: a.latencyMs,
          lastError: a.error,
          lastResponseBody: a.responseBody,
          createdAt: row.createdAt,
        }),
      ));
    endpointID = made ? a.fresh.endpointID : null;
  } else
    endpointID = yield* step(
      tx.recordWebhookAttempt({
        deliveryID: a.deliveryID,
        owner: a.owner,
        at: a.at,
        status,
        nextAttemptAt,
        statusCode: a.statusCode,
        latencyMs: a.latencyMs,
        error: a.error,
        responseBody: a.responseBody,
      }),
    );
  if (endpointID === null) return nothing({ recorded: false, disabled: null });
  // One read per endpoint per batch: the batch's own changes are kept in the map as they are written.
  let endpoint = endpoints.get(endpointID);
  if (endpoint === undefined) {
    endpoint = yield* step(tx.webhookEndpointByID(endpointID));
    endpoints.set(endpointID, endpoint);
  }
  if (endpoint === null) return nothing({ recorded: true, disabled: null });
  const update = function* (next: WebhookEndpointRecord): Rule<void> {
    yield* step(tx.updateWebhookEndpoint(next));
    endpoints.set(next.id, next);
  };
  if (a.ok) {
    if (endpoint.failingSince !== null) yield* update({ ...endpoint, failingSince: null });
    return nothing({ recorded: true, disabled: null });
  }
  const failingSince = endpoint.failingSince ?? a.at;
  const reason = a.gone ? 'gone' : a.at - failingSince >= a.disableAfterMs ? 'failing' : null;
  if (reason !== null && endpoint.disabledAt === null) {
    const now = nowISO(a.at);
    const disabled = { ...endpoint, failingSince, disabledAt: now, disabledReason: reason, updatedAt: now };
    yield* update(disabled);
    return nothing({ recorded: true, disabled });
  }
  if (endpoint.failingSince === null) yield* update({ ...endpoint, failingSince });
  return nothing({ recorded: true, disabled: null });
}

/**
 * Many attempts in one write: the deliverer records what finished meanwhile together, one transaction for all,
 * and moves its ranges on past what this write records (in the same transaction, so a cursor never passes a
 * delivery whose row did not commit).
 */
export function* recordWebhookAttempts(
  tx: WriteTx,
  attempts: readonly WebhookAttempt[],
  progress: WebhookRangeProgress,
): Rule<WriteResult<WebhookAttemptResult[]>> {
  const results: WebhookAttemptResult[] = [];
  const endpoints = new Map<string, WebhookEndpointRecord | null>();
  const outboxRows = new Map<string, WebhookOutboxRow | null>();
  for (const a of attempts) results.push((yield* recordWebhookAttempt(tx, a, endpoints, outboxRows)).value);
  for (const [endpointID, cursor] of Object.entries(progress.cursors))
    yield* step(tx.advanceWebhookRange(endpointID, progress.owner, cursor, progress.leaseUntil, false));
  return nothing(results);
}

/** Retention: finished deliveries older than `before` go, a bounded number per write so no transaction is huge. */
export function* purgeWebhookDeliveries(tx: WriteTx, before: string, limit: number): Rule<WriteResult<number>> {
  return nothing(yield* step(tx.purgeWebhookDeliveries(before, limit)));
}

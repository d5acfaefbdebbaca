import type Database from 'better-sqlite3';
import type { ReadQueries, WebhookAttemptRow, WebhookWriteTx } from '../dialect.js';
import type { Row } from '../rows.js';
import { toDelivery, toEndpoint } from '../webhook-rows.js';
import {
  CONVERSATION_EVENT_TYPES_SQL,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
} from '../webhook-records.js';

type Statement = Database.Statement;
type WebhookReads = Pick<
  ReadQueries,
  'listWebhookEndpoints' | 'getWebhookEndpoint' | 'listWebhookDeliveries' | 'getWebhookDelivery' | 'webhookOrgs'
>;

const DELIVERY_COLUMNS = `n, id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at, lease_owner,
  lease_until, last_attempt_at, last_status_code, last_latency_ms, last_error, last_response_body, created_at`;

/**
 * The SQLite dialect's webhook SQL. One connection writes and a batch runs whole before the next, so a claim is
 * exclusive by construction: what PostgreSQL needs `FOR UPDATE SKIP LOCKED` for, SQLite's single writer gives.
 */
export function sqliteWebhooks(prepare: (sql: string) => Statement): { reads: WebhookReads; tx: WebhookWriteTx } {
  const s = {
    enqueue: prepare(
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
         created_at)
       SELECT @idBase || printf('%02d', row_number() OVER (ORDER BY w.id)), w.org_id, w.id, @type, @data, 'pending', 0,
         @now, @createdAt
       FROM webhook_endpoints w
       WHERE w.org_id = @orgID AND w.disabled_at IS NULL
         AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value IN (@type, '*'))`,
    ),
    insertDelivery: prepare(
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
         created_at)
       VALUES (@id, @orgID, @endpointID, @eventType, @data, @status, @attempts, @nextAttemptAt, @createdAt)`,
    ),
    insertEndpoint: prepare(
      `INSERT INTO webhook_endpoints (id, org_id, url, events, description, secret, previous_secret,
         previous_secret_expires_at, created_at, updated_at, disabled_at, disabled_reason, failing_since)
       VALUES (@id, @orgID, @url, @events, @description, @secret, @previousSecret, @previousSecretExpiresAt,
         @createdAt, @updatedAt, @disabledAt, @disabledReason, @failingSince)`,
    ),
    updateEndpoint: prepare(
      `UPDATE webhook_endpoints SET url = @url, events = @events, description = @description, secret = @secret,
         previous_secret = @previousSecret, previous_secret_expires_at = @previousSecretExpiresAt,
         updated_at = @updatedAt, disabled_at = @disabledAt, disabled_reason = @disabledReason,
         failing_since = @failingSince
       WHERE id = @id`,
    ),
    endpoint: prepare('SELECT * FROM webhook_endpoints WHERE org_id = ? AND id = ?'),
    endpointByID: prepare('SELECT * FROM webhook_endpoints WHERE id = ?'),
    endpoints: prepare('SELECT * FROM webhook_endpoints WHERE org_id = ? ORDER BY created_at, id'),
    enabled: prepare('SELECT * FROM webhook_endpoints WHERE disabled_at IS NULL'),
    orgs: prepare('SELECT DISTINCT org_id FROM webhook_endpoints WHERE disabled_at IS NULL'),
    delivery: prepare(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ? AND id = ?`),
    deliveriesLatest: prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY n DESC LIMIT ?`,
    ),
    deliveriesBefore: prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ? AND n < ? ORDER BY n DESC LIMIT ?`,
    ),
    requeueOne: prepare(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
       WHERE endpoint_id = ? AND id = ?`,
    ),
    requeueSince: prepare(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
       WHERE endpoint_id = ? AND created_at >= ?`,
    ),
    claim: prepare(
      `UPDATE webhook_deliveries SET lease_owner = @owner, lease_until = @leaseUntil
       WHERE n IN (SELECT n FROM webhook_deliveries
                   WHERE endpoint_id = @endpointID AND status = 'pending' AND next_attempt_at <= @now
                     AND (lease_until IS NULL OR lease_until < @now)
                   ORDER BY next_attempt_at LIMIT @free)
       RETURNING ${DELIVERY_COLUMNS}`,
    ),
    purge: prepare(
      `DELETE FROM webhook_deliveries WHERE n IN (
         SELECT n FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending' LIMIT ?)`,
    ),
    // The event types whose data names a conversation; created_at bounds the scan to the member's lifetime.
    eraseMember: prepare(
      `DELETE FROM webhook_deliveries
       WHERE org_id = @orgID AND event_type IN (${CONVERSATION_EVENT_TYPES_SQL})
         AND created_at >= (SELECT min(created_at) FROM conversations WHERE member_id = @memberID)
         AND coalesce(json_extract(data, '$.conversationID'), json_extract(data, '$.id'))
           IN (SELECT id FROM conversations WHERE member_id = @memberID)`,
    ),
    record: prepare(
      `UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt,
         lease_owner = NULL, lease_until = NULL, last_attempt_at = @at, last_status_code = @statusCode,
         last_latency_ms = @latencyMs, last_error = @error, last_response_body = @responseBody
       WHERE id = @deliveryID AND lease_owner = @owner
       RETURNING endpoint_id`,
    ),
  };
  const endpointParams = (e: WebhookEndpointRecord) => ({ ...e, events: JSON.stringify(e.events) });
  const one = (stmt: Statement, ...args: unknown[]): Row | null => (stmt.get(...args) as Row | undefined) ?? null;
  const all = (stmt: Statement, ...args: unknown[]): Row[] => stmt.all(...args) as Row[];
  const endpointOrNull = (r: Row | null) => (r === null ? null : toEndpoint(r));

  return {
    reads: {
      listWebhookEndpoints: async (orgID) => all(s.endpoints, orgID).map(toEndpoint),
      getWebhookEndpoint: async (orgID, id) => endpointOrNull(one(s.endpoint, orgID, id)),
      listWebhookDeliveries: async (endpointID, beforeN, limit) =>
        (beforeN === null
          ? all(s.deliveriesLatest, endpointID, limit)
          : all(s.deliveriesBefore, endpointID, beforeN, limit)
        ).map(toDelivery),
      webhookOrgs: async () => all(s.orgs).map((r) => r.org_id as string),
      getWebhookDelivery: async (endpointID, id) => {
        const r = one(s.delivery, endpointID, id);
        return r === null ? null : toDelivery(r);
      },
    },
    tx: {
      enqueueWebhooks: (orgID, type, data, idBase, createdAt, now) =>
        s.enqueue.run({ orgID, type, data, idBase, createdAt, now }).changes,
      insertWebhookDelivery: (d: WebhookDeliveryRecord) => {
        s.insertDelivery.run(d);
      },
      insertWebhookEndpoint: (e) => {
        s.insertEndpoint.run(endpointParams(e));
      },
      webhookEndpoint: (orgID, id) => endpointOrNull(one(s.endpoint, orgID, id)),
      updateWebhookEndpoint: (e) => {
        s.updateEndpoint.run(endpointParams(e));
      },
      webhookDelivery: (endpointID, id) => {
        const r = one(s.delivery, endpointID, id);
        return r === null ? null : toDelivery(r);
      },
      requeueWebhookDeliveries: (endpointID, which, now) =>
        'deliveryID' in which
          ? s.requeueOne.run(now, endpointID, which.deliveryID).changes
          : s.requeueSince.run(now, endpointID, which.since).changes,
      claimWebhookDeliveries: (claim) => {
        const out = [];
        for (const row of all(s.enabled)) {
          if (out.length >= claim.limit) break;
          const endpoint = toEndpoint(row);
          const free = Math.min(claim.perEndpoint - (claim.busy[endpoint.id] ?? 0), claim.limit - out.length);
          if (free <= 0) continue;
          for (const r of all(s.claim, {
            owner: claim.owner,
            leaseUntil: claim.leaseUntil,
            endpointID: endpoint.id,
            now: claim.now,
            free,
          }))
            out.push({ delivery: toDelivery(r), endpoint });
        }
        return out;
      },
      recordWebhookAttempt: (row: WebhookAttemptRow) => {
        const r = one(s.record, row);
        return r === null ? null : (r.endpoint_id as string);
      },
      webhookEndpointByID: (id) => endpointOrNull(one(s.endpointByID, id)),
      purgeWebhookDeliveries: (before, limit) => s.purge.run(before, limit).changes,
      deleteMemberWebhookDeliveries: (orgID, memberID) => s.eraseMember.run({ orgID, memberID }).changes,
    },
  };
}

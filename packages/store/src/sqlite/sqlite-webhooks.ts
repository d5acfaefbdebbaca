import type Database from 'better-sqlite3';
import type { ReadQueries, WebhookAttemptRow, WebhookWriteTx } from '../dialect.js';
import type { Row } from '../rows.js';
import { toDelivery, toEndpoint } from '../webhook-rows.js';
import {
  CONVERSATION_EVENT_TYPES_SQL,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
  type WebhookOutboxRow,
} from '../webhook-records.js';

type Statement = Database.Statement;
type WebhookReads = Pick<
  ReadQueries,
  'listWebhookEndpoints' | 'getWebhookEndpoint' | 'listWebhookDeliveries' | 'getWebhookDelivery' | 'webhookOrgs'
>;

const DELIVERY_COLUMNS = `n, id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at, lease_owner,
  lease_until, last_attempt_at, last_status_code, last_latency_ms, last_error, last_response_body, created_at`;

/** Every column of a delivery but `n`. */
const INSERT_DELIVERY = `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts,
    next_attempt_at, lease_owner, lease_until, last_attempt_at, last_status_code, last_latency_ms, last_error,
    last_response_body, created_at)
  VALUES (@id, @orgID, @endpointID, @eventType, @data, @status, @attempts, @nextAttemptAt, @leaseOwner, @leaseUntil,
    @lastAttemptAt, @lastStatusCode, @lastLatencyMs, @lastError, @lastResponseBody, @createdAt)`;

/**
 * The SQLite dialect's webhook SQL. One connection writes and a batch runs whole before the next, so a claim is
 * exclusive by construction: what PostgreSQL needs `FOR UPDATE SKIP LOCKED` for, SQLite's single writer gives.
 * `seq` of the outbox rises in commit order for the same reason.
 */
export function sqliteWebhooks(prepare: (sql: string) => Statement): {
  reads: WebhookReads;
  tx: WebhookWriteTx;
  /** Whether the org has an enabled endpoint (the send reports it to its rule). */
  hooked(orgID: string): boolean;
} {
  const s = {
    // The check and the insert are two statements: an INSERT … SELECT opens a statement journal, which makes FTS5
    // flush the send's pending search rows to a segment of their own (see insertMessageSearch).
    anyEndpoint: prepare('SELECT 1 FROM webhook_endpoints WHERE org_id = ? AND disabled_at IS NULL LIMIT 1'),
    enqueue: prepare(
      `INSERT INTO webhook_outbox (org_id, seq, type, data, created_at)
       VALUES (@orgID, @seq, @type, @data, @createdAt)`,
    ),
    outboxAfter: prepare(
      `SELECT org_id, seq, type, data, created_at FROM webhook_outbox
       WHERE org_id = @orgID AND seq > @afterSeq
         AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
       ORDER BY seq LIMIT CAST(@limit AS INTEGER)`,
    ),
    outboxNewest: prepare('SELECT max(seq) AS seq FROM webhook_outbox WHERE org_id = ?'),
    setCursor: prepare('UPDATE webhook_endpoints SET outbox_seq = ? WHERE id = ?'),
    resetCursor: prepare(
      `UPDATE webhook_endpoints SET outbox_seq = coalesce((SELECT event_seq FROM orgs WHERE orgs.id = org_id), 0),
         range_owner = NULL, range_until = NULL, range_to = NULL
       WHERE id = ?`,
    ),
    setRange: prepare(
      `UPDATE webhook_endpoints SET outbox_seq = @cursor, range_owner = @owner, range_until = @until, range_to = @to
       WHERE id = @id`,
    ),
    // SET expressions all read the row as it was: the range is given up when the new cursor reaches its old end.
    advanceRange: prepare(
      `UPDATE webhook_endpoints SET outbox_seq = max(outbox_seq, @cursor),
         range_owner = CASE WHEN @release = 1 OR @cursor >= range_to THEN NULL ELSE range_owner END,
         range_until = CASE WHEN @release = 1 OR @cursor >= range_to THEN NULL ELSE @until END,
         range_to = CASE WHEN @cursor >= range_to THEN NULL ELSE range_to END
       WHERE id = @id AND range_owner = @owner`,
    ),
    outboxRow: prepare('SELECT org_id, seq, type, data, created_at FROM webhook_outbox WHERE org_id = ? AND seq = ?'),
    storedDeliveries: prepare('SELECT id FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each(?))'),
    insertAttempted: prepare(`${INSERT_DELIVERY} ON CONFLICT (id) DO NOTHING`),
    // The orgs in the outbox, one index seek each; then, per org, what its enabled endpoints have all passed.
    outboxOrgAfter: prepare('SELECT org_id FROM webhook_outbox WHERE org_id > ? ORDER BY org_id LIMIT 1'),
    outboxFloors: prepare(
      'SELECT org_id, min(outbox_seq) AS floor FROM webhook_endpoints WHERE disabled_at IS NULL GROUP BY org_id',
    ),
    trimOrg: prepare('DELETE FROM webhook_outbox WHERE org_id = ? AND seq <= ?'),
    trimAll: prepare('DELETE FROM webhook_outbox WHERE org_id = ?'),
    eraseMemberOutbox: prepare(
      `DELETE FROM webhook_outbox
       WHERE org_id = @orgID AND type IN (${CONVERSATION_EVENT_TYPES_SQL})
         AND coalesce(json_extract(data, '$.conversationID'), json_extract(data, '$.id'))
           IN (SELECT id FROM conversations WHERE member_id = @memberID)`,
    ),
    insertDelivery: prepare(INSERT_DELIVERY),
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
    // Newest event first (created_at, then n): a delivery made from the outbox is stored with its first attempt's
    // outcome, so the order rows were written in is not the order of their events.
    deliveriesLatest: prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = ?
       ORDER BY created_at DESC, n DESC LIMIT ?`,
    ),
    deliveriesBefore: prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
       WHERE endpoint_id = @endpointID
         AND (created_at, n) < (SELECT created_at, n FROM webhook_deliveries WHERE n = @beforeN)
       ORDER BY created_at DESC, n DESC LIMIT @limit`,
    ),
    requeueOne: prepare(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
       WHERE endpoint_id = ? AND id = ?`,
    ),
    requeueSince: prepare(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
       WHERE endpoint_id = ? AND created_at >= ?`,
    ),
    // Due rows first, then each leased by its primary key: an UPDATE … WHERE n IN (subquery) cost about 100 µs
    // even when it found nothing, the SELECT with an INTEGER limit about 1 µs.
    due: prepare(
      `SELECT n FROM webhook_deliveries
       WHERE endpoint_id = @endpointID AND status = 'pending' AND next_attempt_at <= @now
         AND (lease_until IS NULL OR lease_until < @now)
       ORDER BY next_attempt_at LIMIT CAST(@free AS INTEGER)`,
    ),
    // No RETURNING on the deliverer's writes (a lease, an attempt): it opens a statement journal, which makes FTS5
    // flush the pending search rows of the sends in the same batch (see insertMessageSearch). An UPDATE, then a read.
    lease: prepare(
      `UPDATE webhook_deliveries SET lease_owner = @owner, lease_until = @leaseUntil, next_attempt_at = @leaseUntil
       WHERE n = @n`,
    ),
    deliveryByN: prepare(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE n = ?`),
    deliveryEndpoint: prepare('SELECT endpoint_id FROM webhook_deliveries WHERE id = ?'),
    release: prepare(
      `UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = @now
       WHERE id = @id AND lease_owner = @owner AND status = 'pending'`,
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
       WHERE id = @deliveryID AND lease_owner = @owner`,
    ),
  };
  const endpointParams = (e: WebhookEndpointRecord) => ({ ...e, events: JSON.stringify(e.events) });
  const one = (stmt: Statement, ...args: unknown[]): Row | null => (stmt.get(...args) as Row | undefined) ?? null;
  const all = (stmt: Statement, ...args: unknown[]): Row[] => stmt.all(...args) as Row[];
  const endpointOrNull = (r: Row | null) => (r === null ? null : toEndpoint(r));
  const toOutboxRow = (r: Row): WebhookOutboxRow => ({
    orgID: r.org_id as string,
    seq: r.seq as number,
    type: r.type as string,
    data: r.data as string,
    createdAt: r.created_at as string,
  });

  const hooked = (orgID: string): boolean => s.anyEndpoint.get(orgID) !== undefined;
  return {
    hooked,
    reads: {
      listWebhookEndpoints: async (orgID) => all(s.endpoints, orgID).map(toEndpoint),
      getWebhookEndpoint: async (orgID, id) => endpointOrNull(one(s.endpoint, orgID, id)),
      listWebhookDeliveries: async (endpointID, beforeN, limit) =>
        (beforeN === null
          ? all(s.deliveriesLatest, endpointID, limit)
          : all(s.deliveriesBefore, { endpointID, beforeN, limit })
        ).map(toDelivery),
      webhookOrgs: async () => all(s.orgs).map((r) => r.org_id as string),
      getWebhookDelivery: async (endpointID, id) => {
        const r = one(s.delivery, endpointID, id);
        return r === null ? null : toDelivery(r);
      },
    },
    tx: {
      enqueueWebhooks: (orgID, seq, type, data, createdAt, known = false) =>
        known || hooked(orgID) ? s.enqueue.run({ orgID, seq, type, data, createdAt }).changes : 0,
      webhookOutboxAfter: (orgID, afterSeq, types, limit) => {
        const rows = all(s.outboxAfter, {
          orgID,
          afterSeq,
          types: types === null ? null : JSON.stringify(types),
          limit,
        }).map(toOutboxRow);
        const full = rows.length === limit && limit > 0;
        const newest = full ? null : ((one(s.outboxNewest, orgID)?.seq as number | null | undefined) ?? null);
        return { rows, scannedTo: full ? rows[rows.length - 1]!.seq : Math.max(afterSeq, newest ?? afterSeq) };
      },
      setWebhookCursor: (endpointID, seq) => {
        s.setCursor.run(seq, endpointID);
      },
      resetWebhookCursor: (endpointID) => {
        s.resetCursor.run(endpointID);
      },
      setWebhookRange: (id, range) => {
        s.setRange.run({ id, ...range });
      },
      advanceWebhookRange: (id, owner, cursor, until, release) => {
        s.advanceRange.run({ id, owner, cursor, until, release: release ? 1 : 0 });
      },
      webhookOutboxRow: (orgID, seq) => {
        const r = one(s.outboxRow, orgID, seq);
        return r === null ? null : toOutboxRow(r);
      },
      storedWebhookDeliveries: (ids) =>
        ids.length === 0 ? [] : all(s.storedDeliveries, JSON.stringify(ids)).map((r) => r.id as string),
      insertAttemptedWebhookDelivery: (d) => s.insertAttempted.run(d).changes > 0,
      trimWebhookOutbox: () => {
        const floors = new Map(all(s.outboxFloors).map((r) => [r.org_id as string, r.floor as number]));
        let trimmed = 0;
        for (let org = one(s.outboxOrgAfter, ''); org !== null; org = one(s.outboxOrgAfter, org.org_id)) {
          const id = org.org_id as string;
          const floor = floors.get(id);
          trimmed += (floor === undefined ? s.trimAll.run(id) : s.trimOrg.run(id, floor)).changes;
        }
        return trimmed;
      },
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
      claimableWebhookEndpoints: () => all(s.enabled).map(toEndpoint),
      leaseDueWebhookDeliveries: (rooms, owner, now, leaseUntil) =>
        rooms.flatMap(({ endpointID, room }) =>
          all(s.due, { endpointID, now, free: room }).map((r) => {
            s.lease.run({ owner, leaseUntil, n: r.n });
            return toDelivery(one(s.deliveryByN, r.n)!);
          }),
        ),
      releaseWebhookDeliveries: (ids, owner, now) =>
        ids.reduce((n, id) => n + s.release.run({ id, owner, now }).changes, 0),
      recordWebhookAttempt: (row: WebhookAttemptRow) => {
        if (s.record.run(row).changes === 0) return null;
        return one(s.deliveryEndpoint, row.deliveryID)!.endpoint_id as string;
      },
      webhookEndpointByID: (id) => endpointOrNull(one(s.endpointByID, id)),
      purgeWebhookDeliveries: (before, limit) => s.purge.run(before, limit).changes,
      deleteMemberWebhookDeliveries: (orgID, memberID) => {
        s.eraseMemberOutbox.run({ orgID, memberID });
        return s.eraseMember.run({ orgID, memberID }).changes;
      },
    },
  };
}

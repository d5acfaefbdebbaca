import type pg from 'pg';
import type { ReadQueries, WebhookAttemptRow, WebhookWriteTx } from '../dialect.js';
import { iso, type Row } from '../rows.js';
import {
  CONVERSATION_EVENT_TYPES_SQL,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
  type WebhookOutboxRow,
} from '../webhook-records.js';
import { toDelivery, toEndpoint } from '../webhook-rows.js';
import { query } from './prepared.js';
import { unmatchable } from './unmatchable.js';

type WebhookReads = Pick<
  ReadQueries,
  'listWebhookEndpoints' | 'getWebhookEndpoint' | 'listWebhookDeliveries' | 'getWebhookDelivery' | 'webhookOrgs'
>;

/** The PostgreSQL dialect's webhook reads, over the read pool's `rows` helper (failures already classified). */
export function postgresWebhookReads(rows: (sql: string, params: unknown[]) => Promise<Row[]>): WebhookReads {
  return {
    listWebhookEndpoints: async (orgID) =>
      (await rows('SELECT * FROM webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id', [orgID])).map(
        toEndpoint,
      ),
    getWebhookEndpoint: async (orgID, id) => {
      const r = (await rows('SELECT * FROM webhook_endpoints WHERE org_id = $1 AND id = $2', [orgID, id]))[0];
      return r === undefined ? null : toEndpoint(r);
    },
    // Newest event first, as in SQLite (sqlite-webhooks.ts, deliveriesLatest).
    listWebhookDeliveries: async (endpointID, beforeN, limit) =>
      (beforeN === null
        ? await rows(
            'SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at DESC, n DESC LIMIT $2',
            [endpointID, limit],
          )
        : await rows(
            `SELECT * FROM webhook_deliveries
             WHERE endpoint_id = $1
               AND (created_at, n) < (SELECT created_at, n FROM webhook_deliveries WHERE n = $2)
             ORDER BY created_at DESC, n DESC LIMIT $3`,
            [endpointID, beforeN, limit],
          )
      ).map(toDelivery),
    webhookOrgs: async () =>
      (await rows('SELECT DISTINCT org_id FROM webhook_endpoints WHERE disabled_at IS NULL', [])).map(
        (r) => r.org_id as string,
      ),
    getWebhookDelivery: async (endpointID, id) => {
      const r = (
        await rows('SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2', [endpointID, id])
      )[0];
      return r === undefined ? null : toDelivery(r);
    },
  };
}

const endpointParams = (e: WebhookEndpointRecord): unknown[] => [
  e.id,
  e.url,
  e.events,
  e.description,
  e.secret,
  e.previousSecret,
  e.previousSecretExpiresAt,
  e.updatedAt,
  e.disabledAt,
  e.disabledReason,
  e.failingSince,
];

/**
 * The PostgreSQL dialect's webhook steps, on the batch's connection. Claims lock the rows they take with
 * `FOR UPDATE SKIP LOCKED`, so instances claiming at once never take the same delivery and never wait for each
 * other; the lease (owner, expiry) is what outlives the transaction, so an instance that dies mid-delivery loses
 * its deliveries to whichever instance claims after the lease ran out.
 */
export class PostgresWebhookTx implements WebhookWriteTx {
  constructor(protected readonly c: pg.ClientBase) {}

  private async webhookRows(sql: string, params: unknown[]): Promise<Row[]> {
    return (await query(this.c, sql, params)).rows;
  }

  async enqueueWebhooks(orgID: string, seq: number, type: string, data: string, createdAt: string): Promise<number> {
    const r = await query(
      this.c,
      `INSERT INTO webhook_outbox (org_id, seq, type, data, created_at)
       SELECT $1::text, $2::bigint, $3::text, $4::text, $5::timestamptz
       WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE org_id = $1::text AND disabled_at IS NULL)`,
      [orgID, seq, type, data, createdAt],
    );
    return r.rowCount ?? 0;
  }

  async webhookOutboxAfter(
    orgID: string,
    afterSeq: number,
    types: readonly string[] | null,
    limit: number,
  ): Promise<{ rows: WebhookOutboxRow[]; scannedTo: number }> {
    // One snapshot for both: the rows, and the newest seq the read could have seen.
    const found = await this.webhookRows(
      `WITH r AS (
         SELECT org_id, seq, type, data, created_at FROM webhook_outbox
         WHERE org_id = $1 AND seq > $2 AND ($3::text[] IS NULL OR type = ANY($3::text[]))
         ORDER BY seq LIMIT $4
       )
       SELECT r.*, (SELECT max(seq) FROM webhook_outbox WHERE org_id = $1) AS newest FROM r
       UNION ALL
       SELECT NULL, NULL, NULL, NULL, NULL, (SELECT max(seq) FROM webhook_outbox WHERE org_id = $1)
       WHERE NOT EXISTS (SELECT 1 FROM r)`,
      [orgID, afterSeq, types, limit],
    );
    const rows = found
      .filter((r) => r.seq !== null)
      .map((r) => ({
        orgID: r.org_id as string,
        seq: Number(r.seq),
        type: r.type as string,
        data: r.data as string,
        createdAt: iso(r.created_at),
      }));
    const newest = found[0]?.newest === null || found[0]?.newest === undefined ? afterSeq : Number(found[0].newest);
    const full = rows.length === limit && limit > 0;
    return { rows, scannedTo: full ? rows[rows.length - 1]!.seq : Math.max(afterSeq, newest) };
  }

  async setWebhookCursor(endpointID: string, seq: number): Promise<void> {
    await query(this.c, 'UPDATE webhook_endpoints SET outbox_seq = $2 WHERE id = $1', [endpointID, seq]);
  }

  async resetWebhookCursor(endpointID: string): Promise<void> {
    await query(
      this.c,
      `UPDATE webhook_endpoints w SET outbox_seq = o.event_seq, range_owner = NULL, range_until = NULL, range_to = NULL
       FROM orgs o WHERE o.id = w.org_id AND w.id = $1`,
      [endpointID],
    );
  }

  async setWebhookRange(
    endpointID: string,
    range: { cursor: number; owner: string | null; until: number | null; to: number | null },
  ): Promise<void> {
    await query(
      this.c,
      `UPDATE webhook_endpoints SET outbox_seq = $2, range_owner = $3, range_until = $4, range_to = $5 WHERE id = $1`,
      [endpointID, range.cursor, range.owner, range.until, range.to],
    );
  }

  async advanceWebhookRange(
    endpointID: string,
    owner: string,
    cursor: number,
    until: number,
    release: boolean,
  ): Promise<void> {
    // SET expressions all read the row as it was: the range is given up when the new cursor reaches its old end.
    await query(
      this.c,
      `UPDATE webhook_endpoints SET outbox_seq = GREATEST(outbox_seq, $3::bigint),
         range_owner = CASE WHEN $5::boolean OR $3::bigint >= range_to THEN NULL ELSE range_owner END,
         range_until = CASE WHEN $5::boolean OR $3::bigint >= range_to THEN NULL ELSE $4::bigint END,
         range_to = CASE WHEN $3::bigint >= range_to THEN NULL ELSE range_to END
       WHERE id = $1 AND range_owner = $2`,
      [endpointID, owner, cursor, until, release],
    );
  }

  async webhookOutboxRow(orgID: string, seq: number): Promise<WebhookOutboxRow | null> {
    const r = (
      await this.webhookRows(
        'SELECT org_id, seq, type, data, created_at FROM webhook_outbox WHERE org_id = $1 AND seq = $2',
        [orgID, seq],
      )
    )[0];
    return r === undefined
      ? null
      : {
          orgID: r.org_id as string,
          seq: Number(r.seq),
          type: r.type as string,
          data: r.data as string,
          createdAt: iso(r.created_at),
        };
  }

  async storedWebhookDeliveries(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.webhookRows('SELECT id FROM webhook_deliveries WHERE id = ANY($1::text[])', [ids]);
    return rows.map((r) => r.id as string);
  }

  async insertAttemptedWebhookDelivery(d: WebhookDeliveryRecord): Promise<boolean> {
    return this.insertDelivery(d, 'ON CONFLICT (id) DO NOTHING');
  }

  /** Every column of a delivery but `n`; `conflict`, what a row with its id already there means. */
  private async insertDelivery(d: WebhookDeliveryRecord, conflict = ''): Promise<boolean> {
    const r = await query(
      this.c,
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
         lease_owner, lease_until, last_attempt_at, last_status_code, last_latency_ms, last_error, last_response_body,
         created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ${conflict}`,
      [
        d.id,
        d.orgID,
        d.endpointID,
        d.eventType,
        d.data,
        d.status,
        d.attempts,
        d.nextAttemptAt,
        d.leaseOwner,
        d.leaseUntil,
        d.lastAttemptAt,
        d.lastStatusCode,
        d.lastLatencyMs,
        d.lastError,
        d.lastResponseBody,
        d.createdAt,
      ],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async claimableWebhookEndpoints(): Promise<WebhookEndpointRecord[]> {
    // Locked until the claim commits, so two instances never make deliveries from one cursor at once; one that
    // another instance is claiming is skipped, not waited for.
    return (
      await this.webhookRows(
        'SELECT * FROM webhook_endpoints WHERE disabled_at IS NULL FOR NO KEY UPDATE SKIP LOCKED',
        [],
      )
    ).map(toEndpoint);
  }

  async trimWebhookOutbox(): Promise<number> {
    const passed = await query(
      this.c,
      `DELETE FROM webhook_outbox o
       USING (SELECT org_id, min(outbox_seq) AS floor FROM webhook_endpoints WHERE disabled_at IS NULL
              GROUP BY org_id) f
       WHERE o.org_id = f.org_id AND o.seq <= f.floor`,
      [],
    );
    const orphaned = await query(
      this.c,
      `DELETE FROM webhook_outbox o
       WHERE NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.org_id = o.org_id AND w.disabled_at IS NULL)`,
      [],
    );
    return (passed.rowCount ?? 0) + (orphaned.rowCount ?? 0);
  }

  async insertWebhookDelivery(d: WebhookDeliveryRecord): Promise<void> {
    await this.insertDelivery(d);
  }

  async insertWebhookEndpoint(e: WebhookEndpointRecord): Promise<void> {
    await query(
      this.c,
      `INSERT INTO webhook_endpoints (id, url, events, description, secret, previous_secret,
         previous_secret_expires_at, updated_at, disabled_at, disabled_reason, failing_since, org_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [...endpointParams(e), e.orgID, e.createdAt],
    );
  }

  async webhookEndpoint(orgID: string, endpointID: string): Promise<WebhookEndpointRecord | null> {
    if (unmatchable([orgID, endpointID])) return null;
    const sql = 'SELECT * FROM webhook_endpoints WHERE org_id = $1 AND id = $2 FOR UPDATE';
    const r = (await this.webhookRows(sql, [orgID, endpointID]))[0];
    return r === undefined ? null : toEndpoint(r);
  }

  async webhookEndpointByID(endpointID: string): Promise<WebhookEndpointRecord | null> {
    const r = (await this.webhookRows('SELECT * FROM webhook_endpoints WHERE id = $1 FOR UPDATE', [endpointID]))[0];
    return r === undefined ? null : toEndpoint(r);
  }

  async updateWebhookEndpoint(e: WebhookEndpointRecord): Promise<void> {
    await query(
      this.c,
      `UPDATE webhook_endpoints SET url = $2, events = $3, description = $4, secret = $5, previous_secret = $6,
         previous_secret_expires_at = $7, updated_at = $8, disabled_at = $9, disabled_reason = $10,
         failing_since = $11
       WHERE id = $1`,
      endpointParams(e),
    );
  }

  async webhookDelivery(endpointID: string, deliveryID: string): Promise<WebhookDeliveryRecord | null> {
    if (unmatchable([endpointID, deliveryID])) return null;
    const sql = 'SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2';
    const r = (await this.webhookRows(sql, [endpointID, deliveryID]))[0];
    return r === undefined ? null : toDelivery(r);
  }

  async requeueWebhookDeliveries(
    endpointID: string,
    which: { deliveryID: string } | { since: string },
    now: number,
  ): Promise<number> {
    const set = `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_owner = NULL,
      lease_until = NULL WHERE endpoint_id = $2`;
    if ('deliveryID' in which) {
      if (unmatchable([which.deliveryID])) return 0;
      return (await query(this.c, `${set} AND id = $3`, [now, endpointID, which.deliveryID])).rowCount ?? 0;
    }
    return (await query(this.c, `${set} AND created_at >= $3`, [now, endpointID, which.since])).rowCount ?? 0;
  }

  async leaseDueWebhookDeliveries(
    rooms: readonly { endpointID: string; room: number }[],
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<WebhookDeliveryRecord[]> {
    const claimed = await this.webhookRows(
      `WITH c AS (
         SELECT d.n FROM unnest($1::text[], $2::int[]) AS e(id, room) CROSS JOIN LATERAL (
           SELECT x.n FROM webhook_deliveries x
           WHERE x.endpoint_id = e.id AND x.status = 'pending' AND x.next_attempt_at <= $3::bigint
             AND (x.lease_until IS NULL OR x.lease_until < $3::bigint)
           ORDER BY x.next_attempt_at LIMIT e.room
           FOR UPDATE SKIP LOCKED
         ) d
       )
       UPDATE webhook_deliveries d SET lease_owner = $4::text, lease_until = $5::bigint, next_attempt_at = $5::bigint
       FROM c WHERE d.n = c.n
       RETURNING d.*`,
      [rooms.map((r) => r.endpointID), rooms.map((r) => r.room), now, owner, leaseUntil],
    );
    return claimed.map(toDelivery);
  }

  async purgeWebhookDeliveries(before: string, limit: number): Promise<number> {
    const r = await query(
      this.c,
      `DELETE FROM webhook_deliveries WHERE n IN (
         SELECT n FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending' LIMIT $2)`,
      [before, limit],
    );
    return r.rowCount ?? 0;
  }

  async deleteMemberWebhookDeliveries(orgID: string, memberID: string): Promise<number> {
    await query(
      this.c,
      `DELETE FROM webhook_outbox
       WHERE org_id = $1 AND type IN (${CONVERSATION_EVENT_TYPES_SQL})
         AND coalesce(data::jsonb->>'conversationID', data::jsonb->>'id')
           IN (SELECT id FROM conversations WHERE member_id = $2)`,
      [orgID, memberID],
    );
    // As in SQLite (sqlite-webhooks.ts, eraseMember): created_at bounds the scan to the member's lifetime.
    const r = await query(
      this.c,
      `DELETE FROM webhook_deliveries
       WHERE org_id = $1 AND event_type IN (${CONVERSATION_EVENT_TYPES_SQL})
         AND created_at >= (SELECT min(created_at) FROM conversations WHERE member_id = $2)
         AND coalesce(data::jsonb->>'conversationID', data::jsonb->>'id')
           IN (SELECT id FROM conversations WHERE member_id = $2)`,
      [orgID, memberID],
    );
    return r.rowCount ?? 0;
  }

  async releaseWebhookDeliveries(deliveryIDs: readonly string[], owner: string, now: number): Promise<number> {
    const r = await query(
      this.c,
      `UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = $3
       WHERE id = ANY($1::text[]) AND lease_owner = $2 AND status = 'pending'`,
      [deliveryIDs, owner, now],
    );
    return r.rowCount ?? 0;
  }

  async recordWebhookAttempt(row: WebhookAttemptRow): Promise<string | null> {
    const r = (
      await this.webhookRows(
        `UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4, lease_owner = NULL,
           lease_until = NULL, last_attempt_at = $5, last_status_code = $6, last_latency_ms = $7, last_error = $8,
           last_response_body = $9
         WHERE id = $1 AND lease_owner = $2
         RETURNING endpoint_id`,
        [
          row.deliveryID,
          row.owner,
          row.status,
          row.nextAttemptAt,
          row.at,
          row.statusCode,
          row.latencyMs,
          row.error,
          row.responseBody,
        ],
      )
    )[0];
    return r === undefined ? null : (r.endpoint_id as string);
  }
}

import type pg from 'pg';
import type { ReadQueries, WebhookAttemptRow, WebhookWriteTx } from '../dialect.js';
import type { Row } from '../rows.js';
import {
  CONVERSATION_EVENT_TYPES_SQL,
  type ClaimedWebhookDelivery,
  type WebhookClaim,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
} from '../webhook-records.js';
import { toDelivery, toEndpoint } from '../webhook-rows.js';
import { query } from './prepared.js';

type WebhookReads = Pick<
  ReadQueries,
  'listWebhookEndpoints' | 'getWebhookEndpoint' | 'listWebhookDeliveries' | 'getWebhookDelivery' | 'webhookOrgs'
>;

const NUL = '\u0000';
const unmatchable = (...params: string[]): boolean => params.some((p) => p.includes(NUL));

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
    listWebhookDeliveries: async (endpointID, beforeN, limit) =>
      (beforeN === null
        ? await rows('SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY n DESC LIMIT $2', [
            endpointID,
            limit,
          ])
        : await rows('SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND n < $2 ORDER BY n DESC LIMIT $3', [
            endpointID,
            beforeN,
            limit,
          ])
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

  async enqueueWebhooks(
    orgID: string,
    type: string,
    data: string,
    idBase: string,
    createdAt: string,
    now: number,
  ): Promise<number> {
    const r = await query(
      this.c,
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
         created_at)
       SELECT $1::text || lpad((row_number() OVER (ORDER BY w.id))::text, 2, '0'), w.org_id, w.id, $3::text, $4::text,
         'pending', 0, $5::bigint, $6::timestamptz
       FROM webhook_endpoints w
       WHERE w.org_id = $2::text AND w.disabled_at IS NULL AND ($3::text = ANY(w.events) OR '*' = ANY(w.events))`,
      [idBase, orgID, type, data, now, createdAt],
    );
    return r.rowCount ?? 0;
  }

  async insertWebhookDelivery(d: WebhookDeliveryRecord): Promise<void> {
    await query(
      this.c,
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
         created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [d.id, d.orgID, d.endpointID, d.eventType, d.data, d.status, d.attempts, d.nextAttemptAt, d.createdAt],
    );
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
    if (unmatchable(orgID, endpointID)) return null;
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
    if (unmatchable(endpointID, deliveryID)) return null;
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
      if (unmatchable(which.deliveryID)) return 0;
      return (await query(this.c, `${set} AND id = $3`, [now, endpointID, which.deliveryID])).rowCount ?? 0;
    }
    return (await query(this.c, `${set} AND created_at >= $3`, [now, endpointID, which.since])).rowCount ?? 0;
  }

  async claimWebhookDeliveries(claim: WebhookClaim): Promise<ClaimedWebhookDelivery[]> {
    const busy = Object.entries(claim.busy);
    const claimed = await this.webhookRows(
      `WITH e AS (
         SELECT w.id, GREATEST($1::int - COALESCE(b.busy, 0), 0) AS free
         FROM webhook_endpoints w
         LEFT JOIN unnest($2::text[], $3::int[]) AS b(id, busy) ON b.id = w.id
         WHERE w.disabled_at IS NULL
       ),
       c AS (
         SELECT d.n FROM e CROSS JOIN LATERAL (
           SELECT x.n FROM webhook_deliveries x
           WHERE x.endpoint_id = e.id AND x.status = 'pending' AND x.next_attempt_at <= $4::bigint
             AND (x.lease_until IS NULL OR x.lease_until < $4::bigint)
           ORDER BY x.next_attempt_at LIMIT e.free
           FOR UPDATE SKIP LOCKED
         ) d
         LIMIT $5::int
       )
       UPDATE webhook_deliveries d SET lease_owner = $6::text, lease_until = $7::bigint
       FROM c WHERE d.n = c.n
       RETURNING d.*`,
      [
        claim.perEndpoint,
        busy.map(([id]) => id),
        busy.map(([, n]) => n),
        claim.now,
        claim.limit,
        claim.owner,
        claim.leaseUntil,
      ],
    );
    if (claimed.length === 0) return [];
    const deliveries = claimed.map(toDelivery);
    const ids = [...new Set(deliveries.map((d) => d.endpointID))];
    const endpoints = new Map(
      (await this.webhookRows('SELECT * FROM webhook_endpoints WHERE id = ANY($1::text[])', [ids]))
        .map(toEndpoint)
        .map((e) => [e.id, e]),
    );
    return deliveries.flatMap((delivery) => {
      const endpoint = endpoints.get(delivery.endpointID);
      return endpoint === undefined ? [] : [{ delivery, endpoint }];
    });
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

import { iso, type Row } from './rows.js';
import type { WebhookDeliveryRecord, WebhookDeliveryState, WebhookEndpointRecord } from './webhook-records.js';

/**
 * Row → record mappers of the webhook tables, for both dialects (see rows.ts for why every column is converted):
 * PostgreSQL keeps `events` as text[], SQLite as JSON text.
 */

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

export function toEndpoint(r: Row): WebhookEndpointRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    url: r.url as string,
    events: Array.isArray(r.events) ? (r.events as string[]) : (JSON.parse(r.events as string) as string[]),
    description: text(r.description),
    secret: r.secret as string,
    previousSecret: text(r.previous_secret),
    previousSecretExpiresAt: num(r.previous_secret_expires_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    disabledAt: r.disabled_at === null || r.disabled_at === undefined ? null : iso(r.disabled_at),
    disabledReason: text(r.disabled_reason),
    failingSince: num(r.failing_since),
    outboxSeq: num(r.outbox_seq) ?? 0,
    rangeOwner: text(r.range_owner),
    rangeUntil: num(r.range_until),
    rangeTo: num(r.range_to),
  };
}

export function toDelivery(r: Row): WebhookDeliveryRecord {
  return {
    n: Number(r.n),
    id: r.id as string,
    orgID: r.org_id as string,
    endpointID: r.endpoint_id as string,
    eventType: r.event_type as string,
    data: r.data as string,
    status: r.status as WebhookDeliveryState,
    attempts: Number(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    leaseOwner: text(r.lease_owner),
    leaseUntil: num(r.lease_until),
    lastAttemptAt: num(r.last_attempt_at),
    lastStatusCode: num(r.last_status_code),
    lastLatencyMs: num(r.last_latency_ms),
    lastError: text(r.last_error),
    lastResponseBody: text(r.last_response_body),
    createdAt: iso(r.created_at),
  };
}

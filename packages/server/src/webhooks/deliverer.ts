import { randomBytes } from 'node:crypto';
import type { ClaimedWebhookDelivery, Store, WebhookAttempt, WebhookEndpointRecord } from '@concierge/store';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerConfig } from '../config.js';
import { webhookBody } from './render.js';
import { WorkerSender } from './worker-sender.js';
import { signatureHeader } from './signing.js';

/** Deliveries in flight on one instance, all endpoints together. */
const MAX_IN_FLIGHT = 512;

/** Retention runs hourly, deleting finished deliveries in writes of this many rows. */
const PURGE_EVERY_MS = 60 * 60 * 1000;
const PURGE_BATCH = 5000;

/**
 * Sends what the outbox holds. It claims due deliveries with a lease (owner, expiry) through the store, a few per
 * endpoint at most (`--webhook-concurrency`), so a slow endpoint fills only its own slots and every other endpoint
 * goes on in parallel; it records each attempt's outcome, which the store's rule turns into a retry time, a
 * delivered or failed state, and perhaps a disabled endpoint.
 *
 * It looks for work when a commit announces events (on PostgreSQL, commits of every instance are announced), when
 * a slot frees, and every `--webhook-poll` seconds whatever happens: the poll is what picks up retries that come
 * due, deliveries whose lease expired on an instance that died, and anything a lost notification did not announce.
 */
export class Deliverer {
  readonly owner = `inst_${randomBytes(9).toString('base64url')}`;
  private readonly busy = new Map<string, number>();
  private total = 0;
  private running = false;
  private again = false;
  private closed = false;
  private readonly sender: WorkerSender;
  private readonly poll: NodeJS.Timeout;
  private readonly purge: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly idle = new Set<() => void>();
  /**
   * Orgs with an enabled endpoint, re-read at every poll: a commit of another org cannot have made work, so it does
   * not wake the deliverer (whose claim would otherwise join every batch of sends, and on PostgreSQL keep that batch
   * off the fused one-statement path).
   */
  private hooked = new Set<string>();
  /** Attempts finished and not yet recorded: written together, one write at a time. */
  private unrecorded: WebhookAttempt[] = [];
  private recording = false;

  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
    private readonly log: FastifyBaseLogger,
    private readonly onDisabled: (endpoint: WebhookEndpointRecord) => void,
  ) {
    this.sender = new WorkerSender({
      timeoutMs: config.webhookTimeoutSeconds * 1000,
      allowPrivate: config.webhooksAllowPrivate,
    });
    this.unsubscribe = store.onCommit((events) => {
      if (events.some((e) => this.hooked.has(e.orgID))) this.wake();
    });
    this.poll = setInterval(() => void this.tick(), config.webhookPollSeconds * 1000).unref();
    void this.tick();
    this.purge = setInterval(() => void this.purgeOld(), PURGE_EVERY_MS).unref();
    this.wake();
    void this.purgeOld();
  }

  /** The org has an enabled endpoint now (a route made or enabled one here): its commits wake the deliverer. */
  noteOrg(orgID: string): void {
    this.hooked.add(orgID);
  }

  private async tick(): Promise<void> {
    try {
      this.hooked = new Set(await this.store.webhookOrgs());
    } catch (err) {
      this.log.warn({ err }, 'webhook orgs not read');
    }
    this.wake();
  }

  /** Looks for due deliveries now (coalesced: one claim at a time, another right after if asked meanwhile). */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.claimLoop().finally(() => {
      this.running = false;
      this.settle();
    });
  }

  private async claimLoop(): Promise<void> {
    do {
      this.again = false;
      const limit = MAX_IN_FLIGHT - this.total;
      if (limit <= 0) return;
      const now = Date.now();
      let claimed: ClaimedWebhookDelivery[];
      try {
        claimed = await this.store.claimWebhookDeliveries({
          owner: this.owner,
          now,
          leaseUntil: now + this.config.webhookLeaseSeconds * 1000,
          busy: Object.fromEntries(this.busy),
          perEndpoint: this.config.webhookConcurrency,
          limit,
        });
      } catch (err) {
        // The store is unreachable: the next poll tries again.
        this.log.warn({ err }, 'webhook claim failed');
        return;
      }
      for (const c of claimed) this.start(c);
      // A full claim may have left due work behind.
      if (claimed.length === limit) this.again = true;
    } while (this.again && !this.closed);
  }

  /** Deletes finished deliveries past `--webhook-retention` (every instance may run it; the deletes do not clash). */
  private async purgeOld(): Promise<void> {
    const before = new Date(Date.now() - this.config.webhookRetentionDays * 86_400_000).toISOString();
    try {
      while (!this.closed && (await this.store.purgeWebhookDeliveries(before, PURGE_BATCH)) === PURGE_BATCH);
    } catch (err) {
      this.log.warn({ err }, 'webhook retention purge failed');
    }
  }

  private settle(): void {
    if (this.total === 0 && !this.running && !this.recording && this.unrecorded.length === 0)
      for (const done of [...this.idle]) done();
  }

  private start(c: ClaimedWebhookDelivery): void {
    const id = c.endpoint.id;
    this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
    this.total++;
    void this.attempt(c).finally(() => {
      const left = (this.busy.get(id) ?? 1) - 1;
      if (left === 0) this.busy.delete(id);
      else this.busy.set(id, left);
      this.total--;
      // A slot is free: there may be due work for it.
      this.wake();
      this.settle();
    });
  }

  private async attempt({ delivery, endpoint }: ClaimedWebhookDelivery): Promise<void> {
    const body = webhookBody(delivery);
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    const result = await this.sender.post(
      endpoint.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Concierge-Webhooks/1',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(endpoint, delivery.id, timestamp, body, now),
      },
      body,
    );
    const at = Date.now();
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const schedule = this.config.webhookRetrySchedule;
    const next = schedule[delivery.attempts + 1];
    // Full delay plus up to 10% jitter, so retries of many deliveries that failed together do not arrive together.
    const retryAt = next === undefined ? null : at + Math.round(next * 1000 * (1 + Math.random() * 0.1));
    this.record({
      deliveryID: delivery.id,
      owner: this.owner,
      at,
      ok,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: ok ? null : (result.error ?? `HTTP ${result.statusCode}`),
      responseBody: result.responseBody,
      retryAt,
      gone: result.statusCode === 410,
      disableAfterMs: this.config.webhookDisableAfterSeconds * 1000,
    });
  }

  /**
   * Queues an attempt's outcome for the next write. The delivery's slot is free as soon as its request ended (the
   * lease keeps it from being claimed again until the outcome is written), so a busy endpoint never waits on the
   * disk between two sends, and the outcomes of many attempts cost one write.
   */
  private record(attempt: WebhookAttempt): void {
    this.unrecorded.push(attempt);
    if (this.recording) return;
    this.recording = true;
    void this.recordLoop().finally(() => {
      this.recording = false;
      this.settle();
    });
  }

  private async recordLoop(): Promise<void> {
    while (this.unrecorded.length > 0) {
      const batch = this.unrecorded;
      this.unrecorded = [];
      try {
        const results = await this.store.recordWebhookAttempts(batch);
        for (const r of results)
          if (r.disabled !== null) {
            this.log.warn({ endpoint: r.disabled.id, reason: r.disabled.disabledReason }, 'webhook endpoint disabled');
            this.onDisabled(r.disabled);
          }
      } catch (err) {
        // Not recorded: the leases run out and the deliveries are attempted again (receivers dedupe on webhook-id).
        this.log.warn({ err, deliveries: batch.length }, 'webhook attempts not recorded');
      }
      // Recorded retries and freed leases may be due work.
      this.wake();
    }
  }

  /**
   * Stops claiming and cuts the attempts in flight (each is recorded as a failed attempt, so it is retried on the
   * schedule by whichever instance claims it, instead of waiting for its lease); waits at most `graceMs` for those
   * records.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearInterval(this.purge);
    this.unsubscribe();
    const cut = this.sender.close();
    if (this.total > 0 || this.running)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idle.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    await cut;
  }
}

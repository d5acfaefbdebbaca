import { randomBytes } from 'node:crypto';
import type { ClaimedWebhookDelivery, Store, WebhookAttempt, WebhookEndpointRecord } from '@concierge/store';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerConfig } from '../config.js';
import { NOT_SENT, WorkerSender, type JobOutcome } from './worker-sender.js';

/** Deliveries held on one instance (in flight or queued to go), all endpoints together. */
const MAX_HELD = 4096;

/**
 * How many claimed deliveries a fast endpoint may have queued behind its slots (in the sender thread, which starts
 * them). Claims are writes, and a write waits for its batch's flush: without a queue a freed slot would wait for the
 * next claim's flush, and an endpoint would be held to `--webhook-concurrency` requests per flush. With one, a freed
 * slot takes the next delivery at once and the claims run behind, in bulk. A claim's round can take 100 ms on a busy
 * small machine, so an endpoint taking 1,000 events a second needs more than 100 queued never to go dry between two
 * claims (docs/benchmarks.md, webhooks).
 */
const PREFETCH = 256;

/** An endpoint whose last attempt was a 2xx within this long is fast: it may hold PREFETCH more than its slots. */
const FAST_MS = 1000;

/**
 * A queued delivery goes only with at least this much of its lease left beyond the request's timeout (or half
 * what the lease has beyond the timeout, when that is less); otherwise it is let go (its lease runs out and it is
 * claimed again), so no attempt outlives its lease.
 */
const LEASE_MARGIN_MS = 5000;

/**
 * A claim, and a write of attempts' outcomes, start at most this often. Each costs about the same whether it
 * carries one delivery or fifty (the endpoints read, an outbox read and a range write per endpoint, the endpoints'
 * records read back, a transaction), so one per commit would cost more than the deliveries it carries. Paced, each
 * carries what 10 ms brought, which adds at most 10 ms before a delivery starts; a fast endpoint's queue (PREFETCH)
 * holds more than that, so its slots never wait for a claim.
 */
const PACE_MS = 10;

/**
 * The API first: while at least this many writes wait for the store on average (BUSY_AVERAGE_MS; a steady 1,000
 * messages a second keeps fewer than 15 waiting), claims come every BUSY_PACE_MS and take at most BUSY_CLAIM
 * deliveries, about 640 a second, so the deliverer's writes, its requests and their receivers take less of the
 * machine from the requests. The rest waits in the outbox, durable, and goes once the load eases.
 */
const BUSY_WRITES = 32;
const BUSY_PACE_MS = 100;
const BUSY_CLAIM = 64;
/**
 * Busy is judged on the writes waiting averaged over about this long (decaying exponentially), not on one turn's
 * count, which swings from one turn to the next under a saturating load: a claim that saw one quiet turn would take
 * thousands at once and send them beside the API. Nor is busy held for a fixed time after a busy turn: a steady load
 * near BUSY_WRITES would keep the deliverer behind. While busy, no endpoint is given more than its slots.
 */
const BUSY_AVERAGE_MS = 200;

/** Retention runs hourly, deleting finished deliveries in writes of this many rows. */
const PURGE_EVERY_MS = 60 * 60 * 1000;
const PURGE_BATCH = 5000;

/** The lowest of `seqs` not in `except`, or null. */
function lowest(seqs: ReadonlySet<number>, except?: ReadonlySet<number>): number | null {
  let min: number | null = null;
  for (const seq of seqs) if ((min === null || seq < min) && except?.has(seq) !== true) min = seq;
  return min;
}

/**
 * Sends what the outbox holds. It claims work through the store with a lease (owner, expiry): due deliveries, and
 * new ones the claim makes from the outbox, and hands them to the sender thread. Each endpoint has
 * `--webhook-concurrency` slots on each instance (kept by the thread, which starts an endpoint's next delivery as
 * soon as one of its requests ends), so a slow endpoint fills only its own and every other endpoint goes on in
 * parallel; a fast endpoint also keeps up to PREFETCH claimed deliveries queued behind its slots, while a slow or
 * new one holds no more than its slots. It records each attempt's outcome, which the store's rule turns into a
 * retry time, a delivered or failed state, and perhaps a disabled endpoint.
 *
 * It looks for work when a commit announces events (on PostgreSQL, commits of every instance are announced), when
 * an endpoint's queue runs low, and every `--webhook-poll` seconds whatever happens: the poll is what picks up
 * retries that come due, deliveries whose lease expired on an instance that died, and anything a lost
 * notification did not announce.
 */
export class Deliverer {
  readonly owner = `inst_${randomBytes(9).toString('base64url')}`;
  /** Deliveries handed to the sender thread and not yet answered (in flight or waiting there for a slot), per endpoint. */
  private readonly outstanding = new Map<string, number>();
  private readonly fast = new Set<string>();
  private held = 0;
  /** Stored deliveries the thread answered NOT_SENT while closing: their leases are given up. */
  private readonly unsent: string[] = [];
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
  /** The writes waiting for the store, averaged (see BUSY_AVERAGE_MS), and when it was last updated. */
  private readonly waiting = { average: 0, at: Date.now() };
  /** When the last claim and the last write of attempts started (see PACE_MS). */
  private readonly last = { claim: 0, record: 0 };
  /** Attempts finished and not yet recorded: written together, one write at a time. */
  private unrecorded: WebhookAttempt[] = [];
  private recording = false;
  /** A write of attempts failed: the next one waits this timer (the store is unreachable or the disk full). */
  private recordRetry: NodeJS.Timeout | null = null;
  /**
   * The outbox ranges this instance holds, per endpoint: how far the last claim leased it (`to`), and the seqs of
   * the deliveries it took from it and has not recorded yet (queued, in flight, or their outcome not yet written).
   * The endpoint's cursor may move only to just below the lowest of those (webhook-records.ts, rangeOwner).
   */
  private readonly ranges = new Map<string, { to: number | null; pending: Set<number> }>();

  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
    private readonly log: FastifyBaseLogger,
    private readonly onDisabled: (endpoint: WebhookEndpointRecord) => void,
  ) {
    this.sender = new WorkerSender(
      {
        timeoutMs: config.webhookTimeoutSeconds * 1000,
        allowPrivate: config.webhooksAllowPrivate,
        concurrency: config.webhookConcurrency,
      },
      (why, jobs) =>
        log.error(
          { reason: why, deliveries: jobs },
          'webhook sender thread died; its deliveries are retried, a new thread takes the next',
        ),
    );
    // What an org committed does not matter here, only that it did: the wake-up alone says so, with no read.
    this.unsubscribe = store.onActivity((orgIDs) => {
      if (orgIDs === null || orgIDs.some((o) => this.hooked.has(o))) this.wake();
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
      const hadHooks = this.hooked.size > 0;
      this.hooked = new Set(await this.store.webhookOrgs());
      // What every endpoint has made its deliveries from is no longer needed. Without an enabled endpoint now or at
      // the last poll there is nothing to trim (an org's rows left behind go when it enables one again), and no
      // write is spent on it.
      if (hadHooks || this.hooked.size > 0) await this.store.trimWebhookOutbox();
    } catch (err) {
      this.log.warn({ err }, 'webhook orgs not read or outbox not trimmed');
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
      await this.pace('claim');
      if (this.closed) return;
      this.again = false;
      const busy = this.busy();
      const limit = Math.min(MAX_HELD - this.held, busy ? BUSY_CLAIM : MAX_HELD);
      if (limit <= 0) return;
      const held: Record<string, number> = {};
      for (const [id, n] of this.outstanding) held[id] = n;
      const caps: Record<string, number> = {};
      if (!busy) for (const id of this.fast) caps[id] = this.config.webhookConcurrency + PREFETCH;
      const floors: Record<string, number> = {};
      for (const [id, range] of this.ranges) {
        const floor = lowest(range.pending);
        if (floor !== null) floors[id] = floor;
      }
      const now = Date.now();
      let claimed: ClaimedWebhookDelivery[];
      try {
        const result = await this.store.claimWebhookDeliveries({
          owner: this.owner,
          now,
          leaseUntil: now + this.config.webhookLeaseSeconds * 1000,
          held,
          perEndpoint: this.config.webhookConcurrency,
          caps,
          limit,
          floors,
          soleInstance: this.store.kind === 'sqlite',
        });
        claimed = result.deliveries;
        for (const [id, to] of Object.entries(result.ranges)) {
          const range = this.ranges.get(id);
          if (range !== undefined) range.to = to;
          else if (to !== null) this.ranges.set(id, { to, pending: new Set() });
        }
        for (const [id, range] of this.ranges)
          if (range.to === null && range.pending.size === 0) this.ranges.delete(id);
        for (const c of claimed)
          if (c.outboxSeq !== null) {
            const id = c.endpoint.id;
            let range = this.ranges.get(id);
            if (range === undefined) this.ranges.set(id, (range = { to: null, pending: new Set() }));
            range.pending.add(c.outboxSeq);
          }
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

  /** Whether the writes waiting for the store, averaged over about BUSY_AVERAGE_MS, reach BUSY_WRITES. */
  private busy(): boolean {
    const now = Date.now();
    const keep = Math.exp(-(now - this.waiting.at) / BUSY_AVERAGE_MS);
    this.waiting.average = this.waiting.average * keep + (this.store.pendingWrites() ?? 0) * (1 - keep);
    this.waiting.at = now;
    return this.waiting.average >= BUSY_WRITES;
  }

  /** Waits until PACE_MS (BUSY_PACE_MS while the API's writes queue up) have passed since the last such write. */
  private async pace(kind: 'claim' | 'record'): Promise<void> {
    const wait = this.last[kind] + (this.busy() ? BUSY_PACE_MS : PACE_MS) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.last[kind] = Date.now();
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
    if (this.held === 0 && !this.running && !this.recording && (this.unrecorded.length === 0 || this.closed))
      for (const done of [...this.idle]) done();
  }

  /** Hands a claimed delivery to the sender thread, where it waits for one of its endpoint's slots. */
  private start(c: ClaimedWebhookDelivery): void {
    const id = c.endpoint.id;
    this.outstanding.set(id, (this.outstanding.get(id) ?? 0) + 1);
    this.held++;
    void this.attempt(c).finally(() => {
      const left = (this.outstanding.get(id) ?? 1) - 1;
      if (left === 0) this.outstanding.delete(id);
      else this.outstanding.set(id, left);
      this.held--;
      // A slot is free: there may be due work for it; a queue running low asks for more now, not at the next
      // commit (claims are coalesced, one at a time).
      if (left <= this.config.webhookConcurrency + (this.fast.has(id) ? PREFETCH / 2 : 0)) this.wake();
      this.settle();
    });
  }

  private async attempt({ delivery, endpoint, outboxSeq }: ClaimedWebhookDelivery): Promise<void> {
    const timeoutMs = this.config.webhookTimeoutSeconds * 1000;
    const spare = Math.max(0, this.config.webhookLeaseSeconds * 1000 - timeoutMs);
    const result: JobOutcome = await this.sender.deliver({
      endpoint: endpoint.id,
      url: endpoint.url,
      deliveryID: delivery.id,
      eventType: delivery.eventType,
      data: delivery.data,
      createdAt: delivery.createdAt,
      secret: endpoint.secret,
      previousSecret: endpoint.previousSecret,
      previousSecretExpiresAt: endpoint.previousSecretExpiresAt,
      // A delivery from the outbox rides on its endpoint's range, which every claim and record renews; a stored
      // one goes only with enough of its own lease left for a whole attempt.
      startBy:
        outboxSeq !== null ? null : (delivery.leaseUntil ?? 0) - timeoutMs - Math.min(LEASE_MARGIN_MS, spare / 2),
    });
    if (result === NOT_SENT) {
      // Never sent: one from the outbox stays pending in its range (the cursor stays below it); a stored one's
      // lease runs out and it is claimed again, or, while closing, its lease is given up.
      if (outboxSeq === null && this.closed) this.unsent.push(delivery.id);
      return;
    }
    // What failed on our side is logged; a receiver's own failures are in the deliveries list, and only there.
    if (result.internal !== undefined)
      this.log.error(
        { endpoint: endpoint.id, delivery: delivery.id, reason: result.error, stack: result.internal },
        'webhook delivery failed in the sender',
      );
    else if (result.error?.startsWith('address refused: ') === true)
      this.log.warn(
        { endpoint: endpoint.id, delivery: delivery.id, reason: result.error },
        'webhook delivery refused: its address may not be reached',
      );
    const at = Date.now();
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    if (ok && result.latencyMs < FAST_MS) this.fast.add(endpoint.id);
    else this.fast.delete(endpoint.id);
    const schedule = this.config.webhookRetrySchedule;
    const next = schedule[delivery.attempts + 1];
    // Full delay plus up to 10% jitter, so retries of many deliveries that failed together do not arrive together.
    const retryAt = next === undefined ? null : at + Math.round(next * 1000 * (1 + Math.random() * 0.1));
    this.record({
      deliveryID: delivery.id,
      fresh: outboxSeq === null ? null : { orgID: endpoint.orgID, endpointID: endpoint.id, seq: outboxSeq },
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
    this.recordSoon();
  }

  private recordSoon(): void {
    if (this.recording || this.recordRetry !== null) return;
    this.recording = true;
    void this.recordLoop().finally(() => {
      this.recording = false;
      this.settle();
    });
  }

  /**
   * Where this instance's ranges may move once `batch` is recorded: per endpoint with a delivery from the outbox
   * in it, just below the lowest seq still unrecorded besides the batch's, or the range's end when none is.
   */
  private progress(batch: readonly WebhookAttempt[]): Record<string, number> {
    const recorded = new Map<string, Set<number>>();
    for (const a of batch)
      if (a.fresh !== null) {
        let seqs = recorded.get(a.fresh.endpointID);
        if (seqs === undefined) recorded.set(a.fresh.endpointID, (seqs = new Set()));
        seqs.add(a.fresh.seq);
      }
    const cursors: Record<string, number> = {};
    for (const [id, seqs] of recorded) {
      const range = this.ranges.get(id);
      if (range === undefined || range.to === null) continue;
      const floor = lowest(range.pending, seqs);
      cursors[id] = floor === null ? range.to : Math.min(floor - 1, range.to);
    }
    return cursors;
  }

  private async recordLoop(): Promise<void> {
    while (this.unrecorded.length > 0 && this.recordRetry === null) {
      // Not while stopping: the attempts cut then are written at once.
      if (!this.closed) await this.pace('record');
      const batch = this.unrecorded;
      this.unrecorded = [];
      try {
        const results = await this.store.recordWebhookAttempts(batch, {
          owner: this.owner,
          leaseUntil: Date.now() + this.config.webhookLeaseSeconds * 1000,
          cursors: this.progress(batch),
        });
        for (const a of batch)
          if (a.fresh !== null) {
            const range = this.ranges.get(a.fresh.endpointID);
            range?.pending.delete(a.fresh.seq);
            if (range !== undefined && range.pending.size === 0) this.ranges.delete(a.fresh.endpointID);
          }
        for (const r of results)
          if (r.disabled !== null) {
            this.log.warn({ endpoint: r.disabled.id, reason: r.disabled.disabledReason }, 'webhook endpoint disabled');
            this.onDisabled(r.disabled);
          }
      } catch (err) {
        this.log.warn({ err, deliveries: batch.length }, 'webhook attempts not recorded; trying again');
        // Kept and written again after a pause. A stored delivery whose lease runs out meanwhile is claimed and
        // attempted again (receivers dedupe on webhook-id), and its late record is then refused; one from the
        // outbox holds the cursor back until its row is written, so it is never passed over unrecorded.
        this.unrecorded = [...batch, ...this.unrecorded];
        if (!this.closed)
          this.recordRetry = setTimeout(() => {
            this.recordRetry = null;
            this.recordSoon();
          }, this.config.webhookPollSeconds * 1000).unref();
        return;
      }
      // Recorded retries and freed leases may be due work.
      this.wake();
    }
  }

  /**
   * Stops claiming, cuts the attempts in flight (each is recorded as a failed attempt, so it is retried on the
   * schedule by whichever instance claims it, instead of waiting for its lease) and waits at most `graceMs` for
   * those records; then gives up the leases of the deliveries still queued.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.recordRetry !== null) clearTimeout(this.recordRetry);
    this.recordRetry = null;
    clearInterval(this.poll);
    clearInterval(this.purge);
    this.unsubscribe();
    const cut = this.sender.close();
    if (this.held > 0 || this.running || this.recording)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idle.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    // Deliveries that waited in the sender thread were never attempted (one claimed during the wait above was
    // answered NOT_SENT at once): their leases are given up, so whichever instance claims next (this one after a
    // restart) sends them at once rather than when the leases run out.
    const queued = this.unsent.splice(0);
    // The ranges are given up with the cursor below whatever was not recorded (queued, or its record not written
    // within the grace): the next holder sends those, and skips what was recorded.
    const cursors: Record<string, number> = {};
    for (const [id, range] of this.ranges) {
      if (range.to === null) continue;
      const floor = lowest(range.pending);
      cursors[id] = floor === null ? range.to : Math.min(floor - 1, range.to);
    }
    if (queued.length > 0 || Object.keys(cursors).length > 0)
      try {
        await this.store.releaseWebhookDeliveries(queued, this.owner, Date.now(), cursors);
      } catch (err) {
        this.log.warn({ err }, 'queued webhook deliveries not released (their leases will run out)');
      }
    await cut;
  }
}

import type { FeedStats } from '@concierge/store';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, on a registry of our own (no global state shared with a host process). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'concierge_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'concierge_http_request_duration_seconds',
    help: 'HTTP request latency by route and method (SSE streams are not timed)',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly streamsOpened = new Counter({
    name: 'concierge_sse_streams_opened_total',
    help: 'SSE streams opened, by scope',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  readonly passwordHashes = new Counter({
    name: 'concierge_password_hashes_total',
    help: 'password hashes (scrypt) computed for agent sign-ins and setups',
    registers: [this.registry],
  });
  readonly refusedBeforeHash = new Counter({
    name: 'concierge_password_refused_before_hash_total',
    help: 'agent sign-ins and setups refused before any password hash, by reason (rate_limited, queue_full, bad_link)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly passwordHashQueue = new Gauge({
    name: 'concierge_password_hash_queue',
    help: 'password hashes running or waiting now (bounded by --password-hash-queue)',
    registers: [this.registry],
  });

  constructor(openStreams: () => number, pendingWrites: () => number | null, feed: () => FeedStats | null) {
    new Gauge({
      name: 'concierge_store_pending_writes',
      help: 'writes submitted to the store and not yet answered (SQLite; bounded by --sqlite-write-queue)',
      registers: [this.registry],
      collect() {
        const pending = pendingWrites();
        if (pending !== null) this.set(pending);
      },
    });
    new Gauge({
      name: 'concierge_sse_streams_open',
      help: 'SSE streams open now',
      registers: [this.registry],
      collect() {
        this.set(openStreams());
      },
    });
    new Gauge({
      name: 'concierge_event_feed_orgs_watched',
      help: 'orgs whose events this instance reads from the database now, because a local stream needs them (PostgreSQL)',
      registers: [this.registry],
      collect() {
        const stats = feed();
        if (stats !== null) this.set(stats.orgsWatched);
      },
    });
    new Counter({
      name: 'concierge_event_feed_reads_total',
      help: "database reads this instance's event feed made for other instances' events (PostgreSQL)",
      registers: [this.registry],
      collect() {
        const stats = feed();
        if (stats === null) return;
        this.reset();
        this.inc(stats.reads);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'concierge_' });
  }
}

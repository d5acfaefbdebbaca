// `send-postgres`: POST /v1/conversations/{id}/messages with Concierge on PostgreSQL, member tokens and a fresh
// Idempotency-Key each time, 100 connections, against the bare Fastify + `pg` group-commit route
// (bench/reference/fastify-pg-send.mjs): one statement per batch for the message rows, their seqs and their events.
// Both sides write to their own database of the same durable throw-away cluster (fsync and synchronous_commit on).
import { Api } from '../lib/api.mjs';
import { startConcierge, startLoadgen, startReference, using } from '../lib/procs.mjs';
import { freshDatabase, postgres } from '../lib/postgres.mjs';
import { alternate, medians } from '../lib/stats.mjs';

export const description =
  'POST a message on PostgreSQL (member token, fresh Idempotency-Key, durable commit), 100 connections, vs a bare Fastify + pg group-commit route';

export async function run({ rounds, smoke, profile, log }) {
  const connections = smoke ? 2 : 100;
  const durationSec = smoke ? 0.5 : 10;
  // Load spreads over this many members, one conversation each, as real traffic from many members would.
  const memberCount = smoke ? 5 : 100;
  const body = { message: 'Could you book a table for two at eight tonight?' };

  return using(async (track) => {
    // fsync and synchronous_commit on: "acknowledged" means the WAL reached the disk, on both sides.
    const pg = await postgres({ durable: true });
    if (pg.skipped !== undefined) return { skipped: pg.skipped, rows: [], notes: [] };
    track(pg.cluster);
    const ours = track(
      await startConcierge({
        database: await freshDatabase(pg.cluster.url),
        args: ['--rate-limit', '0'],
        profile,
      }),
    );
    const ref = track(
      await startReference('fastify-pg-send.mjs', { args: [await freshDatabase(pg.cluster.url)], profile }),
    );
    const load = track(startLoadgen('http-load.mjs'));
    const api = new Api(ours.url);
    const members = await api.members(ours.org.apiKey, memberCount);
    const path = (id) => `/v1/conversations/${encodeURIComponent(id)}/messages`;
    const oursSpec = {
      url: ours.url,
      method: 'POST',
      targets: members.map((m) => ({ path: path(m.conversationID), token: m.token })),
      body,
      connections,
      freshIdempotencyKey: true,
    };
    const refSpec = {
      url: ref.url,
      method: 'POST',
      targets: members.map((m, i) => ({ path: `/conversations/conv_${i}/messages` })),
      body,
      connections,
    };
    if (!smoke) {
      log('  warm-up (not counted)');
      await load.call({ type: 'run', ...oursSpec, durationSec: 2 });
      await load.call({ type: 'run', ...refSpec, durationSec: 2 });
    }
    const raw = await alternate(
      rounds,
      {
        ours: () => load.call({ type: 'run', ...oursSpec, durationSec }),
        reference: () => load.call({ type: 'run', ...refSpec, durationSec }),
      },
      log,
    );
    const o = medians(raw.ours);
    const r = medians(raw.reference);
    const failures = raw.ours.reduce((n, x) => n + x.non2xx + x.errors + x.timeouts, 0);
    return {
      config: { connections, durationSec, members: memberCount, rounds },
      rows: [
        {
          metric: 'requests/s (2xx)',
          ours: o.rps,
          reference: r.rps,
          ratio: o.rps / r.rps,
          target: '≥ 0.75× reference',
          met: o.rps / r.rps >= 0.75,
        },
        { metric: 'latency p50 (ms)', ours: o.p50, reference: r.p50, ratio: o.p50 / r.p50 },
        {
          metric: 'latency p99 (ms)',
          ours: o.p99,
          reference: r.p99,
          ratio: o.p99 / r.p99,
          target: '≤ 1.5× reference',
          met: o.p99 <= 1.5 * r.p99,
        },
      ],
      notes: [
        `${connections} connections for ${durationSec} s per round, spread round-robin over ${memberCount} members (one conversation each).`,
        'Both on one throw-away local PostgreSQL cluster with fsync and synchronous_commit on, each in its own database. The reference (`bench/reference/fastify-pg-send.mjs`) answers a batch of sends with one statement in autocommit: bump the org counter, insert the message rows and one event row each (`INSERT … SELECT … FROM unnest(…)`); no authentication, no idempotency record, no conversation row, no NOTIFY.',
        failures === 0
          ? 'Every request of ours was answered 2xx.'
          : `Non-2xx answers, errors or timeouts from ours across all rounds: ${failures}.`,
      ],
      raw,
    };
  });
}

// `send`: POST /v1/conversations/{id}/messages with member tokens and a fresh Idempotency-Key each time, 100
// connections, against the bare Fastify + better-sqlite3 group-commit route (bench/reference/fastify-sqlite-send.mjs).
import { join } from 'node:path';
import { Api } from '../lib/api.mjs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cpuMs,
  diskWriteBytes,
  rssKiB,
  startConcierge,
  startLoadgen,
  startReference,
  tempDir,
  using,
} from '../lib/procs.mjs';
import { freshDatabase, postgres } from '../lib/postgres.mjs';
import { alternate, medians } from '../lib/stats.mjs';

export const description =
  'POST a message (member token, fresh Idempotency-Key, persisted with fsync), 100 connections';

/**
 * Runs one load round and adds the KiB the server wrote to storage per 2xx answer (WAL frames, checkpoints) and
 * the server's peak resident set size during the round (VmRSS sampled every 100 ms: what the load costs in memory).
 */
async function withDisk(pid, round) {
  const before = diskWriteBytes(pid);
  const cpuBefore = cpuMs(pid);
  let peak = rssKiB(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 100);
  try {
    const result = await round();
    return {
      ...result,
      diskKiBPerReq: (diskWriteBytes(pid) - before) / 1024 / Math.max(1, result.ok),
      rssPeakMiB: peak / 1024,
      cpuMsPerReq: (cpuMs(pid) - cpuBefore) / Math.max(1, result.ok),
    };
  } finally {
    clearInterval(sampler);
  }
}

export async function run(options) {
  return runSend({ ...options, store: 'sqlite' });
}

/**
 * The send benchmark on either store; the reference is the same bare SQLite route in both cases. `writer` picks the
 * SQLite writer (`--sqlite-writer`); without it the server's default runs.
 */
export async function runSend({ rounds, smoke, profile, log, store, writer }) {
  const connections = smoke ? 2 : 100;
  const durationSec = smoke ? 0.5 : 10;
  // Load spreads over this many members, one conversation each, as real traffic from many members would.
  const memberCount = smoke ? 5 : 100;
  const body = { message: 'Could you book a table for two at eight tonight?' };

  return using(async (track) => {
    const tmp = track(tempDir());
    let database = `sqlite:${join(tmp.dir, 'concierge.db')}`;
    if (store === 'postgres') {
      // fsync on, like the SQLite side: the comparison is at the same durability.
      const pg = await postgres({ durable: true });
      if (pg.skipped !== undefined) return { skipped: pg.skipped, rows: [], notes: [] };
      track(pg.cluster);
      database = await freshDatabase(pg.cluster.url);
    }
    const ours = track(
      await startConcierge({
        database,
        args: ['--rate-limit', '0', ...(writer !== undefined ? ['--sqlite-writer', writer] : [])],
        profile,
      }),
    );
    const ref = track(
      await startReference('fastify-sqlite-send.mjs', { args: [join(tmp.dir, 'reference.db')], profile }),
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
        ours: () => withDisk(ours.pid, () => load.call({ type: 'run', ...oursSpec, durationSec })),
        reference: () => withDisk(ref.pid, () => load.call({ type: 'run', ...refSpec, durationSec })),
      },
      log,
    );
    // Memory once the load is over: a second for in-flight answers and a garbage collection to settle.
    await sleep(1000);
    const after = { ours: rssKiB(ours.pid) / 1024, reference: rssKiB(ref.pid) / 1024 };
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
          // The target is for the embedded store; on PostgreSQL the figure is reported, not judged.
          ...(store === 'sqlite' && { target: '≥ 0.75× reference', met: o.rps / r.rps >= 0.75 }),
        },
        // On PostgreSQL the database server, not ours, writes to disk: the process counter would read 0.
        ...(store === 'sqlite'
          ? [
              {
                metric: 'written to disk per request (KiB)',
                ours: o.diskKiBPerReq,
                reference: r.diskKiBPerReq,
                ratio: o.diskKiBPerReq / r.diskKiBPerReq,
              },
            ]
          : []),
        {
          metric: 'server CPU per request, all threads (ms)',
          ours: o.cpuMsPerReq,
          reference: r.cpuMsPerReq,
          ratio: o.cpuMsPerReq / r.cpuMsPerReq,
        },
        { metric: 'latency p50 (ms)', ours: o.p50, reference: r.p50, ratio: o.p50 / r.p50 },
        {
          metric: 'server RSS under load, peak (MiB)',
          ours: o.rssPeakMiB,
          reference: r.rssPeakMiB,
          ratio: o.rssPeakMiB / r.rssPeakMiB,
        },
        {
          metric: 'server RSS 1 s after the load (MiB)',
          ours: after.ours,
          reference: after.reference,
          ratio: after.ours / after.reference,
        },
        {
          metric: 'latency p99 (ms)',
          ours: o.p99,
          reference: r.p99,
          ratio: o.p99 / r.p99,
          ...(store === 'sqlite' && { target: '≤ 30 ms', met: o.p99 <= 30 }),
        },
      ],
      notes: [
        `${connections} connections for ${durationSec} s per round, spread round-robin over ${memberCount} members (one conversation each).`,
        ...(store === 'sqlite'
          ? [
              `SQLite writer: ${writer === undefined ? "the server's default" : `\`--sqlite-writer ${writer}\``}. Server RSS is VmRSS, sampled every 100 ms during each round (peak) and once 1 s after the last round; CPU is the server process's, all threads (/proc utime + stime).`,
            ]
          : []),
        ...(store === 'postgres'
          ? [
              'Ours on PostgreSQL (a throw-away local cluster with fsync on, one instance); the reference is the same bare SQLite route as in `send`, so the ratio says what moving to PostgreSQL costs on one machine.',
            ]
          : []),
        failures === 0
          ? 'Every request of ours was answered 2xx.'
          : `Non-2xx answers, errors or timeouts from ours across all rounds: ${failures}.`,
      ],
      raw,
    };
  });
}

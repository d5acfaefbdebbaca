// `fanout`: N open SSE streams on one conversation, opened from a separate process; a message sent;
// time to open them all, server RSS per idle stream, and delivery latency from commit (`createdAt`, stamped by
// the server in the committing transaction) to receipt on every stream. Beside a bare node:http broadcaster
// (bench/reference/node-http-sse.mjs) measured the same way, alternating, each round on a freshly started process.
import { join } from 'node:path';
import { Api } from '../lib/api.mjs';
import { rssKiB, startConcierge, startReference, tempDir, using } from '../lib/procs.mjs';
import { alternate, fmt, medians } from '../lib/stats.mjs';
import { openFilesHardLimit, startSwarm, STREAMS_PER_PROCESS } from '../lib/swarm.mjs';

export const description =
  '1,000, 10,000 and 50,000 open SSE streams on one conversation; open time, server RSS per idle stream, delivery latency commit → receipt';

/** The targets: Centrifugo's density (about 50,000 connections per process) at a small cost per stream. */
const RSS_TARGET_KIB = 15;
const P99_TARGET = 1.1;
/** Descriptors the server needs besides its streams (database, listeners, metrics, the warm-up streams). */
const FD_MARGIN = 500;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One side of one round on a fresh server process: warm the path with a few streams and messages, read RSS, open
 * `count` streams, let them idle, read RSS again, then send `messages` messages one after another and wait until
 * every stream has every one.
 */
async function measure({ start, send, streamPath, headers, count, messages, spacingMs, clients }) {
  const server = await start();
  try {
    // Warm-up: JIT the stream and send paths so the baseline RSS already holds the code, not just the streams.
    const warm = await clients.open({ url: server.url, path: streamPath, headers, count: 20 });
    if (warm.failed > 0) throw new Error(`warm-up streams failed to open: ${warm.firstError}`);
    await clients.reset();
    for (let i = 0; i < 3; i++) await send(server, i);
    await clients.collect({ messages: 3, timeoutMs: 10_000 });
    await clients.close();
    await sleep(500);
    const before = rssKiB(server.pid);
    const opened = await clients.open({ url: server.url, path: streamPath, headers, count }, 600_000);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${count} streams failed to open: ${opened.firstError}`);
    await sleep(2_000);
    const after = rssKiB(server.pid);
    await clients.reset();
    for (let i = 0; i < messages; i++) {
      await send(server, i);
      await sleep(spacingMs);
    }
    const d = await clients.collect({ messages, timeoutMs: 60_000 + count });
    await clients.close();
    return {
      openMs: opened.ms,
      rssPerStreamKiB: (after - before) / opened.opened,
      rssBeforeMiB: before / 1024,
      rssAfterMiB: after / 1024,
      deliveryP50: d.p50,
      deliveryP99: d.p99,
      deliveryMax: d.max,
      delivered: d.deliveries / d.expected,
      complete: d.complete ? 1 : 0,
    };
  } finally {
    await clients.close().catch(() => {});
    await server.stop();
  }
}

export async function run({ rounds, smoke, profile, log }) {
  const messages = smoke ? 3 : 20;
  // The server holds one descriptor per stream. Where the machine's open-files hard limit (which no benchmark can
  // raise) is below a size, the largest size it allows is measured instead, and the table says so.
  const fdLimit = openFilesHardLimit();
  const fits = (n) => n + FD_MARGIN <= fdLimit;
  const largest = Math.floor((fdLimit - FD_MARGIN) / 1_000) * 1_000;
  const sizes = (smoke ? [50] : [1_000, 10_000, 50_000]).map((n) => ({
    count: fits(n) ? n : largest,
    wanted: n,
  }));

  return using(async (track) => {
    const tmp = track(tempDir());
    const database = `sqlite:${join(tmp.dir, 'concierge.db')}`;
    const args = (n) => ['--rate-limit', '0', '--token-ttl', '7200', '--max-streams-per-member', String(n + 100)];
    // The org, member and conversation are made once; every round restarts the server on the same file.
    const first = await startConcierge({ database, args: args(0) });
    const api = new Api(first.url);
    const org = first.org;
    const token = await api.memberToken(org.apiKey, 'bench-fanout');
    const conversationID = await api.openConversation(token);
    await first.stop();

    const rows = [];
    const raw = {};
    const notes = [];
    for (const [index, { count, wanted }] of sizes.entries()) {
      const last = index === sizes.length - 1;
      log(`  ${count.toLocaleString('en-US')} streams`);
      if (count !== wanted)
        notes.push(
          `${wanted.toLocaleString('en-US')} streams need more descriptors than this machine's open-files hard limit (${fdLimit.toLocaleString('en-US')}, \`ulimit -Hn\`, which the benchmark's processes cannot raise) allows one process, so ${count.toLocaleString('en-US')} were measured instead.`,
        );
      const clients = startSwarm(Math.ceil(count / STREAMS_PER_PROCESS));
      // Spaced so one broadcast finishes before the next starts: this measures latency, not queueing.
      const spacingMs = Math.max(100, count * 0.03);
      const r = await alternate(
        rounds,
        {
          ours: () =>
            measure({
              start: () =>
                startConcierge({ database, args: args(count), org, profile, name: `concierge-fanout-${count}` }),
              // The concierge answers (server credential): the reply reaches all of the member's streams.
              send: (s, i) =>
                new Api(s.url).call('POST', `/v1/conversations/${conversationID}/messages`, {
                  token: org.apiKey,
                  body: { message: `Concierge reply ${i}` },
                }),
              streamPath: `/v1/conversations/${conversationID}/stream`,
              headers: { authorization: `Bearer ${token}` },
              count,
              messages,
              spacingMs,
              clients,
            }),
          reference: () =>
            measure({
              start: () => startReference('node-http-sse.mjs', { profile }),
              send: async (s, i) => {
                const res = await fetch(`${s.url}/publish`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ message: `Concierge reply ${i}` }),
                });
                await res.text();
              },
              streamPath: '/stream',
              headers: {},
              count,
              messages,
              spacingMs,
              clients,
            }),
        },
        log,
      ).finally(() => clients.stop());
      raw[count] = r;
      const o = medians(r.ours);
      const f = medians(r.reference);
      const c = `${count.toLocaleString('en-US')} streams`;
      const allOpen = r.ours.every((x) => x.complete === 1);
      rows.push(
        { case: c, metric: 'time to open all (ms)', ours: o.openMs, reference: f.openMs, ratio: o.openMs / f.openMs },
        {
          case: c,
          metric: 'server RSS per idle stream (KiB)',
          ours: o.rssPerStreamKiB,
          reference: f.rssPerStreamKiB,
          ratio: o.rssPerStreamKiB / f.rssPerStreamKiB,
          // Judged where fixed costs are amortised: at 1,000 streams V8's heap steps swing the figure.
          ...(last && {
            target: `≤ ${RSS_TARGET_KIB} KiB`,
            met: o.rssPerStreamKiB <= RSS_TARGET_KIB,
            missedBy:
              o.rssPerStreamKiB > RSS_TARGET_KIB ? `${fmt(o.rssPerStreamKiB - RSS_TARGET_KIB)} KiB over` : undefined,
          }),
        },
        {
          case: c,
          metric: 'delivery p50 (ms)',
          ours: o.deliveryP50,
          reference: f.deliveryP50,
          ratio: o.deliveryP50 / f.deliveryP50,
        },
        {
          case: c,
          metric: 'delivery p99 (ms)',
          ours: o.deliveryP99,
          reference: f.deliveryP99,
          ratio: o.deliveryP99 / f.deliveryP99,
          ...(last && {
            target: `≤ ${P99_TARGET}× reference`,
            met: o.deliveryP99 / f.deliveryP99 <= P99_TARGET,
            missedBy:
              o.deliveryP99 / f.deliveryP99 > P99_TARGET
                ? `${(o.deliveryP99 / f.deliveryP99).toFixed(2)}× instead of ≤ ${P99_TARGET}×`
                : undefined,
          }),
        },
        {
          case: c,
          metric: 'every message on every stream (rounds)',
          ours: `${r.ours.filter((x) => x.complete === 1).length}/${rounds}`,
          reference: `${r.reference.filter((x) => x.complete === 1).length}/${rounds}`,
          ...(last && {
            target: `${wanted.toLocaleString('en-US')} streams on one process`,
            met: allOpen && count === wanted,
            missedBy: count !== wanted ? 'not measurable on this machine' : undefined,
          }),
        },
      );
    }
    return {
      config: { sizes: sizes.map((x) => x.count), messages, rounds },
      rows,
      notes: [
        ...notes,
        `All streams are one member's streams of one conversation (\`GET /v1/conversations/{id}/stream\`, member token, \`--max-streams-per-member\` raised), opened 200 at a time per client process (bench/loadgen/sse-clients.mjs; one process per ${STREAMS_PER_PROCESS.toLocaleString('en-US')} streams, each socket bound to a loopback source address of its own run, 127.0.0.2 and up, at most 10,000 per address); the reference is \`GET /stream\` on the broadcaster.`,
        `Per round and side: a fresh server process, warmed with 20 streams and 3 messages; RSS (VmRSS) read before opening and 2 s after the last stream opened; then ${messages} concierge replies (server credential), one every 100 ms or 0.03 ms per stream if longer (300 ms at 10,000), each awaited before the next.`,
        "Delivery latency = receipt time in the client process − the message's `createdAt` (ms precision, stamped inside the committing transaction, so ours includes the fsync: about 0.2 ms on this disk). The reference stamps `createdAt` when it starts the broadcast.",
      ],
      raw,
    };
  });
}

// `webhooks`: sends into 10 webhook endpoints (8 healthy, one that never answers, one that answers 500), measured
// two ways in one run: the healthy endpoints' commit → delivery latency at a fixed offered load, and the server's
// send throughput with those endpoints beside the same server without any, alternating round by round.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Api } from '../lib/api.mjs';
import { startConcierge, startLoadgen, tempDir, using } from '../lib/procs.mjs';
import { alternate, medians, percentile } from '../lib/stats.mjs';

export const description =
  'messages into 10 webhook endpoints (one hanging, one answering 500): commit → delivery latency, and send throughput with webhooks vs without';

const WEBHOOK_ARGS = ['--rate-limit', '0', '--webhooks-allow-http', '--webhooks-allow-private'];

/**
 * A receiver on loopback in this process. Healthy ones note, per delivery, the time from the message's
 * `createdAt` (stamped in the write, just before its commit) to the delivery's arrival; a message's first arrival
 * only, since a retry is not a delivery's latency.
 */
function receiver(kind, latencies) {
  const seen = new Set();
  const server = createServer((req, res) => {
    if (kind === 'hanging') return; // Never answers: the deliverer's timeout ends each attempt.
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (kind === 'failing') return void res.writeHead(500).end('no');
      const at = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const id = req.headers['webhook-id'];
      if (event.type === 'conversation.message_created' && !seen.has(id)) {
        seen.add(id);
        latencies.push(at - Date.parse(event.data.message.createdAt));
      }
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
        stop: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
      }),
    ),
  );
}

export async function run({ rounds, smoke, profile, log }) {
  const rate = smoke ? 20 : 1000;
  const warmupSec = smoke ? 0.5 : 5;
  const latencySec = smoke ? 1 : 30;
  const throughputSec = smoke ? 0.5 : 10;
  const connections = smoke ? 2 : 100;
  const memberCount = smoke ? 5 : 100;
  const body = { message: 'Could you book a table for two at eight tonight?' };

  return using(async (track) => {
    const tmp = track(tempDir());
    const latencies = [];
    const receivers = [];
    for (let i = 0; i < 8; i++) receivers.push(track(await receiver('healthy', latencies)));
    receivers.push(track(await receiver('hanging', latencies)), track(await receiver('failing', latencies)));

    const hooked = track(
      await startConcierge({
        database: `sqlite:${join(tmp.dir, 'hooked.db')}`,
        args: WEBHOOK_ARGS,
        profile,
        name: 'concierge-webhooks',
      }),
    );
    const bare = track(
      await startConcierge({ database: `sqlite:${join(tmp.dir, 'bare.db')}`, args: WEBHOOK_ARGS, name: 'concierge' }),
    );
    const hookedAPI = new Api(hooked.url);
    for (const r of receivers)
      await hookedAPI.call('POST', '/v1/webhooks', {
        token: hooked.org.apiKey,
        body: { url: r.url, events: ['conversation.message_created'] },
      });
    const load = track(startLoadgen('http-load.mjs'));
    const spec = async (server) => {
      const members = await new Api(server.url).members(server.org.apiKey, memberCount);
      return {
        url: server.url,
        method: 'POST',
        targets: members.map((m) => ({
          path: `/v1/conversations/${encodeURIComponent(m.conversationID)}/messages`,
          token: m.token,
        })),
        body,
        connections,
        freshIdempotencyKey: true,
      };
    };
    const hookedSpec = await spec(hooked);
    const bareSpec = await spec(bare);

    // A warm-up at the same load first, as any server gets before it is measured: its code compiled, its sender
    // thread and connections to the receivers up. It ends once the healthy endpoints have all of it; its latencies
    // are not counted.
    log(`  warm-up: ${rate} messages/s for ${warmupSec} s`);
    const warm = await load.call({ type: 'run', ...hookedSpec, durationSec: warmupSec, rate });
    for (let waited = 0; latencies.length < warm.ok * 8 && waited < 30_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    const warmDelivered = latencies.length;
    latencies.length = 0;
    log(`  fixed load: ${rate} messages/s for ${latencySec} s into 10 endpoints`);
    const fixed = await load.call({ type: 'run', ...hookedSpec, durationSec: latencySec, rate });
    // What is still on its way when the load stops counts as well: wait until the healthy endpoints have it all.
    const want = fixed.ok * 8;
    for (let waited = 0; latencies.length < want && waited < 30_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    const delivered = latencies.length;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);

    // A throughput round of the hooked server leaves a backlog of deliveries behind it. The next round (of either
    // server) starts only once the healthy endpoints have it all (or after a bounded wait), so the bare server is
    // never measured while the hooked one is still delivering beside it on the same cores.
    let hookedAcked = fixed.ok;
    const drained = async () => {
      const started = Date.now();
      while (latencies.length < hookedAcked * 8 && Date.now() - started < 120_000)
        await new Promise((r) => setTimeout(r, 100));
      return latencies.length >= hookedAcked * 8;
    };
    let undrained = 0;
    const raw = await alternate(
      rounds,
      {
        webhooks: async () => {
          if (!(await drained())) undrained++;
          const r = await load.call({ type: 'run', ...hookedSpec, durationSec: throughputSec });
          hookedAcked += r.ok;
          return r;
        },
        none: async () => {
          if (!(await drained())) undrained++;
          return load.call({ type: 'run', ...bareSpec, durationSec: throughputSec });
        },
      },
      log,
    );
    const w = medians(raw.webhooks);
    const n = medians(raw.none);
    return {
      config: { rate, warmupSec, latencySec, throughputSec, connections, members: memberCount, rounds },
      rows: [
        {
          metric: 'healthy endpoints: commit → delivery p50 (ms)',
          ours: p50,
          reference: null,
          ratio: null,
        },
        {
          metric: 'healthy endpoints: commit → delivery p99 (ms)',
          ours: p99,
          reference: null,
          ratio: null,
          target: '≤ 100 ms',
          met: p99 <= 100,
        },
        {
          metric: 'send requests/s (2xx): with webhooks vs without',
          ours: w.rps,
          reference: n.rps,
          ratio: w.rps / n.rps,
          target: '≥ 0.9× without',
          met: w.rps / n.rps >= 0.9,
        },
      ],
      notes: [
        `Fixed load: ${fixed.ok} messages acknowledged in ${latencySec} s (offered ${rate}/s, evenly spaced, over ${connections} connections); ${delivered} of ${want} deliveries reached the 8 healthy endpoints. Before it, a warm-up of ${warmupSec} s at the same load (${warmDelivered} of ${warm.ok * 8} delivered before the measured load began; not counted).`,
        "Latency runs from the message's `createdAt` (stamped in the write, before its commit) to the delivery's arrival, first attempt only; the hanging endpoint holds its slots (`--webhook-concurrency`, 16) for the 15 s timeout each time, the failing one is retried on the schedule.",
        `Throughput: as fast as the server answers, ${connections} connections, ${throughputSec} s per round; "reference" is the same build on its own database with no endpoint. Each round starts once the hooked server's earlier deliveries have all reached the healthy endpoints (at most 120 s of waiting; ${undrained} round(s) started without).`,
      ],
      raw: { fixed, throughput: raw },
    };
  });
}

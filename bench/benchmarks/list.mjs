// `list`: GET a page of 50 from the middle of a conversation's history (keyset cursor) with a member token, for
// a conversation of 1,000 and one of 1,000,000 messages in the same database, against a bare Fastify route running
// the same keyset query on the same file (bench/reference/fastify-sqlite-list.mjs).
import { join } from 'node:path';
import { encodeCursor } from '@concierge/server';
import { Api } from '../lib/api.mjs';
import { startConcierge, startLoadgen, startReference, tempDir, using } from '../lib/procs.mjs';
import { seedMessages, serverSecret } from '../lib/seed.mjs';
import { alternate, fmt, medians } from '../lib/stats.mjs';

export const description =
  'GET a page of 50 (member token, keyset cursor mid-history) from conversations of 1,000 and 1,000,000 messages';

export async function run({ rounds, smoke, profile, log }) {
  const connections = smoke ? 2 : 50;
  const durationSec = smoke ? 0.5 : 10;
  const sizes = smoke ? [1_000] : [1_000, 1_000_000];
  const label = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1_000}k`);

  return using(async (track) => {
    const tmp = track(tempDir());
    const file = join(tmp.dir, 'concierge.db');
    const database = `sqlite:${file}`;
    const args = ['--rate-limit', '0', '--token-ttl', '7200'];

    // 1. Members and conversations through the API, then 2. history straight into the file while the server is down.
    let ours = await startConcierge({ database, args });
    const org = ours.org;
    const api = new Api(ours.url);
    const token = await api.memberToken(org.apiKey, 'bench-reader');
    const conversations = [];
    for (const _ of sizes) conversations.push(await api.openConversation(token));
    await ours.stop();
    const secret = serverSecret(file);
    const cases = [];
    for (const [i, size] of sizes.entries()) {
      const t0 = Date.now();
      const { first, last } = seedMessages(file, conversations[i], size);
      log(
        `  seeded ${size.toLocaleString('en-US')} messages in ${fmt((Date.now() - t0) / 1000)} s (direct SQLite writes)`,
      );
      // A page from the middle: the keyset query must seek, not scan from either end.
      const mid = first + Math.floor(size / 2);
      cases.push({
        size,
        conversationID: conversations[i],
        mid,
        cursor: encodeCursor(secret, { kind: 'm', conversationID: conversations[i], seq: mid }),
        last,
      });
    }

    ours = track(await startConcierge({ database, args, profile, org }));
    const ref = track(await startReference('fastify-sqlite-list.mjs', { args: [file], profile }));
    const load = track(startLoadgen('http-load.mjs'));

    // Both answer the same page: check once, so the figures compare equal work.
    for (const c of cases) {
      const a = await api.call(
        'GET',
        `${ours.url}/v1/conversations/${c.conversationID}/messages?limit=50&cursor=${c.cursor}`,
        { token },
      );
      const b = await (
        await fetch(`${ref.url}/conversations/${c.conversationID}/messages?limit=50&before=${c.mid}`)
      ).json();
      if (a.messages.length !== 50 || JSON.stringify(a.messages) !== JSON.stringify(b.messages))
        throw new Error(`ours and the reference disagree on the page of the ${label(c.size)} conversation`);
    }

    const rows = [];
    const raw = {};
    const oursRps = {};
    for (const c of cases) {
      const oursSpec = {
        url: ours.url,
        targets: [{ path: `/v1/conversations/${c.conversationID}/messages?limit=50&cursor=${c.cursor}`, token }],
        connections,
      };
      const refSpec = {
        url: ref.url,
        targets: [{ path: `/conversations/${c.conversationID}/messages?limit=50&before=${c.mid}` }],
        connections,
      };
      log(`  ${label(c.size)} conversation`);
      if (!smoke) {
        await load.call({ type: 'run', ...oursSpec, durationSec: 2 });
        await load.call({ type: 'run', ...refSpec, durationSec: 2 });
      }
      const r = await alternate(
        rounds,
        {
          ours: () => load.call({ type: 'run', ...oursSpec, durationSec }),
          reference: () => load.call({ type: 'run', ...refSpec, durationSec }),
        },
        log,
      );
      raw[label(c.size)] = r;
      const o = medians(r.ours);
      const f = medians(r.reference);
      oursRps[c.size] = o.rps;
      rows.push(
        {
          case: `${label(c.size)} messages`,
          metric: 'requests/s (2xx)',
          ours: o.rps,
          reference: f.rps,
          ratio: o.rps / f.rps,
          target: '≥ 1.0× reference',
          met: o.rps / f.rps >= 1.0,
          missedBy: o.rps / f.rps < 1.0 ? `${fmt((1 - o.rps / f.rps) * 100)}% short` : undefined,
        },
        {
          case: `${label(c.size)} messages`,
          metric: 'latency p50 (ms)',
          ours: o.p50,
          reference: f.p50,
          ratio: o.p50 / f.p50,
        },
        {
          case: `${label(c.size)} messages`,
          metric: 'latency p99 (ms)',
          ours: o.p99,
          reference: f.p99,
          ratio: o.p99 / f.p99,
        },
      );
    }
    const [small, large] = sizes;
    const slowdown = oursRps[small] / oursRps[large];
    rows.push({
      case: `${label(large)} vs ${label(small)}`,
      metric: `time per request, ours ${label(large)} ÷ ${label(small)}`,
      ours: slowdown,
      target: '≤ 1.2',
      met: slowdown <= 1.2,
      missedBy: slowdown > 1.2 ? `${fmt(slowdown)}× instead of ≤ 1.2×` : undefined,
    });
    return {
      config: { connections, durationSec, sizes, rounds },
      rows,
      notes: [
        `${connections} connections for ${durationSec} s per round; every request asks for the 50 messages before the middle of the history.`,
        "History seeded by writing `messages` rows straight into the server's SQLite file (its own schema, one transaction, server stopped), then the server restarted on it; ours and the reference were checked to return the same page.",
      ],
      raw,
    };
  });
}

// `cross-instance`: two server instances on one PostgreSQL database. A message sent to instance A reaches streams
// held by instance B through the store's cross-instance notification; the added latency over the same streams held
// by A itself is the cost of running more than one instance. Rounds alternate "streams on A" (one instance) and
// "streams on B" (two instances), with the same sender, the same database and the same client process.
import { Api } from '../lib/api.mjs';
import { freshDatabase, postgres } from '../lib/postgres.mjs';
import { startConcierge, startLoadgen, using } from '../lib/procs.mjs';
import { alternate, fmt, medians } from '../lib/stats.mjs';

export const description =
  'two instances on PostgreSQL (send to A, streams on B) vs one (send and streams on A): added delivery latency';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run({ rounds, smoke, profile, log }) {
  const streams = smoke ? 10 : 100;
  const messages = smoke ? 3 : 30;
  const spacingMs = 50;

  return using(async (track) => {
    const pg = await postgres();
    if (pg.skipped !== undefined) return { skipped: pg.skipped, rows: [], notes: [] };
    track(pg.cluster);
    const database = await freshDatabase(pg.cluster.url);
    const args = ['--rate-limit', '0', '--token-ttl', '7200', '--max-streams-per-member', String(streams + 50)];
    let a;
    try {
      a = track(await startConcierge({ database, args, profile, name: 'concierge-a' }));
    } catch (error) {
      const m = /the PostgreSQL store is not available in this build|unsupported database URL/.exec(String(error));
      if (m !== null)
        return {
          skipped: `the PostgreSQL store adapter is not in this build (the server refused the database URL: "${m[0]}").`,
          rows: [],
          notes: [],
        };
      throw error;
    }
    const b = track(await startConcierge({ database, args, profile, name: 'concierge-b', org: a.org }));
    const api = new Api(a.url);
    const token = await api.memberToken(a.org.apiKey, 'bench-cross');
    const conversationID = await api.openConversation(token);
    const clients = track(startLoadgen('sse-clients.mjs'));
    const streamPath = `/v1/conversations/${conversationID}/stream`;

    async function measure(holder) {
      const opened = await clients.call({
        type: 'open',
        url: holder.url,
        path: streamPath,
        headers: { authorization: `Bearer ${token}` },
        count: streams,
      });
      if (opened.failed > 0) throw new Error(`${opened.failed} streams failed to open: ${opened.firstError}`);
      await sleep(200);
      await clients.call({ type: 'reset' });
      for (let i = 0; i < messages; i++) {
        await api.call('POST', `/v1/conversations/${conversationID}/messages`, {
          token: a.org.apiKey,
          body: { message: `cross-instance ${i}` },
        });
        await sleep(spacingMs);
      }
      const d = await clients.call({ type: 'collect', messages, timeoutMs: 30_000 });
      await clients.call({ type: 'close' });
      if (!d.complete)
        throw new Error(`only ${d.deliveries} of ${d.expected} deliveries arrived via ${holder === a ? 'A' : 'B'}`);
      return { p50: d.p50, p99: d.p99, max: d.max };
    }

    await measure(a);
    await measure(b);
    const raw = await alternate(rounds, { one: () => measure(a), two: () => measure(b) }, log);
    const one = medians(raw.one);
    const two = medians(raw.two);
    const addedP50 = two.p50 - one.p50;
    const addedP99 = two.p99 - one.p99;
    return {
      config: { streams, messages, rounds },
      rows: [
        { metric: 'delivery p50 (ms)', ours: two.p50, reference: one.p50, ratio: two.p50 / one.p50 },
        { metric: 'delivery p99 (ms)', ours: two.p99, reference: one.p99, ratio: two.p99 / one.p99 },
        {
          metric: 'added delivery p50 (ms)',
          ours: addedP50,
          target: '≤ 5 ms',
          met: addedP50 <= 5,
          missedBy: addedP50 > 5 ? `${fmt(addedP50 - 5)} ms over` : undefined,
        },
        {
          metric: 'added delivery p99 (ms)',
          ours: addedP99,
          target: '≤ 20 ms',
          met: addedP99 <= 20,
          missedBy: addedP99 > 20 ? `${fmt(addedP99 - 20)} ms over` : undefined,
        },
      ],
      notes: [
        `"ours" is two instances (send to A, ${streams} streams on B); "reference" is one instance (send and streams on A), same PostgreSQL ${pg.cluster.version ?? ''} database. ${messages} concierge replies per round, one every ${spacingMs} ms; latency from \`createdAt\` to receipt.`,
      ],
      raw,
    };
  });
}

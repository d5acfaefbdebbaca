// `search`: GET /v1/inbox?q= (full-text, ranked, with snippets) on an org of 100,000 conversations and 1,000,000
// messages, one request at a time (one core's worth of work per request), beside a plain `LIKE '%word%'` scan of
// the same messages in the same file, the query a search written without an index would run.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startConcierge, tempDir, using } from '../lib/procs.mjs';
import { seedInbox, vocabulary } from '../lib/seed-inbox.mjs';
import { fmt, percentile } from '../lib/stats.mjs';

export const description =
  'GET /v1/inbox?q= (ranked full-text search with snippets) over 100,000 conversations and 1,000,000 messages, p95, beside a LIKE scan';

const TARGET_P95_MS = 50;

export async function run({ rounds, smoke, profile, log }) {
  const size = smoke
    ? { members: 200, conversations: 1_000, messagesPer: 10, words: vocabulary(2_000) }
    : { members: 20_000, conversations: 100_000, messagesPer: 10, words: vocabulary(2_000) };
  const queries = smoke ? 10 : 200;
  const likeQueries = smoke ? 3 : 10;

  return using(async (track) => {
    const tmp = track(tempDir());
    const file = join(tmp.dir, 'concierge.db');
    const database = `sqlite:${file}`;
    const args = ['--rate-limit', '0'];

    let ours = await startConcierge({ database, args });
    const org = ours.org;
    await ours.stop();
    const t0 = Date.now();
    seedInbox(file, org.orgID, size);
    const total = size.conversations * size.messagesPer;
    log(
      `  seeded ${size.conversations.toLocaleString('en-US')} conversations, ${total.toLocaleString('en-US')} messages in ${fmt((Date.now() - t0) / 1000)} s (direct SQLite writes)`,
    );
    ours = track(await startConcierge({ database, args, profile, org }));

    // Terms across the frequency range: common words (many thousands of hits), middling and rare ones, single and
    // two-word queries, and prefixes (what someone types while the results update).
    const w = size.words;
    const terms = [];
    for (let i = 0; i < queries; i++) {
      const pick = (u) => w[Math.floor(w.length * u)];
      const kind = i % 4;
      if (kind === 0) terms.push(pick(((i * 7919) % 1000) / 1000));
      else if (kind === 1) terms.push(`${pick(((i * 104729) % 1000) / 1000)} ${pick(((i * 1299709) % 1000) / 1000)}`);
      else if (kind === 2) terms.push(pick(((i * 15485863) % 1000) / 1000).slice(0, 4));
      else terms.push(pick(0.5 + ((i * 32452843) % 500) / 1000));
    }
    const search = async (q) => {
      const started = process.hrtime.bigint();
      const res = await fetch(`${ours.url}/v1/inbox?q=${encodeURIComponent(q)}&limit=20`, {
        headers: { authorization: `Bearer ${org.apiKey}` },
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`search ${q}: ${res.status} ${JSON.stringify(body)}`);
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, hits: body.data.length };
    };
    // The reference: what a search without an index does, on a read-only connection to the same file.
    const raw = new Database(file, { readonly: true });
    const like = raw.prepare(
      `SELECT DISTINCT conversation_id FROM messages WHERE org_id = ? AND body LIKE ? ORDER BY seq DESC LIMIT 20`,
    );
    const scan = (q) => {
      const started = process.hrtime.bigint();
      like.all(org.orgID, `%${q.split(' ')[0]}%`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    for (const q of terms.slice(0, 5)) await search(q); // warm the page cache and the prepared statements

    const oursMs = [];
    const likeMs = [];
    let hits = 0;
    for (let r = 0; r < rounds; r++) {
      for (const q of terms) {
        const x = await search(q);
        oursMs.push(x.ms);
        hits += x.hits;
      }
      for (const q of terms.slice(0, likeQueries)) likeMs.push(scan(q));
      log(
        `  round ${r + 1}/${rounds}: search p50 ${fmt(percentile(oursMs, 50))} ms p95 ${fmt(percentile(oursMs, 95))} ms; LIKE p95 ${fmt(percentile(likeMs, 95))} ms`,
      );
    }
    raw.close();
    const p95 = percentile(oursMs, 95);
    const likeP95 = percentile(likeMs, 95);
    return {
      config: { ...size, words: size.words.length, queries, rounds },
      rows: [
        {
          case: `${size.conversations.toLocaleString('en-US')} conversations, ${total.toLocaleString('en-US')} messages`,
          metric: 'search latency p95 (ms)',
          ours: p95,
          reference: likeP95,
          ratio: p95 / likeP95,
          target: `< ${TARGET_P95_MS} ms`,
          met: p95 < TARGET_P95_MS,
          missedBy: p95 >= TARGET_P95_MS ? `${fmt(p95 - TARGET_P95_MS)} ms over` : undefined,
        },
        {
          case: 'same',
          metric: 'search latency p50 (ms)',
          ours: percentile(oursMs, 50),
          reference: percentile(likeMs, 50),
        },
        { case: 'same', metric: 'results per search (mean, limit 20)', ours: hits / oursMs.length },
      ],
      notes: [
        `${queries} searches per round, one at a time over HTTP with the Org-API-Key (\`limit=20\`): common, middling and rare made-up words, two-word queries and 4-letter prefixes, from a 2,000-word vocabulary with a Zipf-like skew.`,
        "Reference: `SELECT DISTINCT conversation_id FROM messages WHERE body LIKE '%word%'` on the same file (first word only, no ranking, no snippets: less work than ours), in the benchmark process.",
        'Seeded by writing members, conversations, messages and their full-text rows straight into the SQLite file (the schema of migration 4, one transaction, server stopped), then FTS `optimize` and `ANALYZE`.',
      ],
    };
  });
}

// `scale-out`: one, three and six server instances on one PostgreSQL database. Instance A takes every send, from
// 50 members in a closed loop; the others have no client at all. What running more instances costs: the send
// throughput at A, the CPU each instance spends per event committed (an idle one only follows the feed), what
// PostgreSQL does per event, and the delivery to a stream held by B of messages sent to A. Two modes: `notify`
// (instances wake each other through PostgreSQL's LISTEN/NOTIFY) and `nats` (`--broker` with a throw-away
// nats-server).
import { Api } from '../lib/api.mjs';
import { nats } from '../lib/nats.mjs';
import { pgStats, since } from '../lib/pg-stats.mjs';
import { freshDatabase, postgres } from '../lib/postgres.mjs';
import { cpuMs, startConcierge, startLoadgen, using } from '../lib/procs.mjs';
import { fmt, median, medians } from '../lib/stats.mjs';

export const description =
  'one, three and six instances on one PostgreSQL database, sends to A from 50 members, no client on the others: send throughput, CPU per event of each instance, PostgreSQL work per event, delivery to a stream on B; without and with a NATS broker';

const MODES = ['notify', 'nats'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const plural = (n) => `${n} instance${n === 1 ? '' : 's'}`;
const letter = (i) => String.fromCharCode(65 + i);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The server's own words when it refuses to start in a mode this build lacks, else null. */
function refusal(mode, error) {
  const text = String(error instanceof Error ? error.message : error);
  if (/the PostgreSQL store is not available in this build|unsupported database URL/.test(text))
    return 'the PostgreSQL store adapter is not in this build (the server refused the database URL).';
  if (mode !== 'nats') return null;
  // The first line is the harness's "exited before it was ready"; the server's own message follows.
  const said = text
    .split('\n')
    .slice(1)
    .find((line) => /broker/i.test(line));
  return said === undefined ? null : `the server refused \`--broker\`: "${said.trim()}"`;
}

export async function run({ rounds, smoke, profile, log }) {
  const sizes = smoke ? [1, 2] : [1, 3, 6];
  const memberCount = smoke ? 5 : 50;
  const durationSec = smoke ? 2 : 10;
  // CPU and database counters are read at two instants of steady load: once the load has settled in, and shortly
  // before it ends (PostgreSQL publishes a busy backend's counters about once a second, so both readings lag alike).
  const settleMs = smoke ? 500 : 1500;
  const tailMs = 500;
  const streams = smoke ? 5 : 100;
  const messages = smoke ? 3 : 30;
  const spacingMs = 50;
  const body = { message: 'Could you book a table for two at eight tonight?' };
  const baseArgs = ['--rate-limit', '0', '--token-ttl', '7200', '--max-streams-per-member', String(streams + 50)];

  return using(async (track) => {
    const pg = await postgres();
    if (pg.skipped !== undefined) return { skipped: pg.skipped, rows: [], notes: [] };
    track(pg.cluster);
    const load = track(startLoadgen('http-load.mjs'));
    const clients = track(startLoadgen('sse-clients.mjs'));

    /** One mode: a fresh database, A started, then instances added up to each size in turn. */
    async function measureMode(mode, track) {
      let broker = null;
      if (mode === 'nats') {
        const n = await nats();
        if (n.skipped !== undefined) return { skipped: n.skipped };
        broker = track(n.server);
      }
      const database = await freshDatabase(pg.cluster.url);
      const args = [...baseArgs, ...(broker === null ? [] : ['--broker', broker.url])];
      const start = (i, org) =>
        startConcierge({ database, args, profile, org, name: `concierge-${mode}-${letter(i)}` });
      let a;
      try {
        a = track(await start(0, null));
      } catch (error) {
        const reason = refusal(mode, error);
        if (reason !== null) return { skipped: reason };
        throw error;
      }
      const instances = [a];
      const api = new Api(a.url);
      const members = await api.members(a.org.apiKey, memberCount, 'bench-scale');
      const watcher = await api.memberToken(a.org.apiKey, 'bench-scale-watcher');
      const watched = await api.openConversation(watcher);
      const stats = track(await pgStats(pg.cluster.url, database));
      const spec = {
        url: a.url,
        method: 'POST',
        targets: members.map((m) => ({
          path: `/v1/conversations/${encodeURIComponent(m.conversationID)}/messages`,
          token: m.token,
        })),
        body,
        connections: memberCount,
        freshIdempotencyKey: true,
      };

      const snapshot = async () => {
        const db = await stats.read();
        return { db, cpu: instances.map((i) => cpuMs(i.pid)), broker: broker === null ? 0 : cpuMs(broker.pid) };
      };

      /** One load window at A; CPU and counters between two readings inside it, per event committed. */
      async function loadWindow() {
        const before = await stats.read();
        const running = load.call({ type: 'run', ...spec, durationSec });
        await sleep(settleMs);
        const s0 = await snapshot();
        await sleep(durationSec * 1000 - settleMs - tailMs);
        const s1 = await snapshot();
        const r = await running;
        const after = await stats.read();
        const d = since(s0.db, s1.db);
        if (d.events <= 0) throw new Error(`${mode}, ${plural(instances.length)}: no event committed under load`);
        const cpu = instances.map((_, i) => (s1.cpu[i] - s0.cpu[i]) / d.events);
        const idle = cpu.slice(1);
        return {
          sendsPerSec: r.rps,
          sendP99: r.p99,
          failures: r.non2xx + r.errors + r.timeouts,
          eventsPerSec: d.events / (d.ms / 1000),
          eventsPerSend: (after.events - before.events) / r.ok,
          cpuA: cpu[0],
          ...(idle.length > 0 && {
            cpuIdle: mean(idle),
            cpuIdleMax: Math.max(...idle),
            idlePct: (100 * mean(idle)) / cpu[0],
          }),
          xactsPerEvent: d.xacts / d.events,
          rowsPerEvent: d.tupReturned / d.events,
          fetchedPerEvent: d.tupFetched / d.events,
          ...(d.backendCpuMs !== null && { pgCpuPerEvent: d.backendCpuMs / d.events }),
          ...(broker !== null && { brokerCpuPerEvent: (s1.broker - s0.broker) / d.events }),
          cpuByInstance: cpu,
        };
      }

      /** Streams on `holder`, messages sent to A one at a time: delay from commit to receipt (cross-instance.mjs). */
      async function delivery(holder) {
        const opened = await clients.call({
          type: 'open',
          url: holder.url,
          path: `/v1/conversations/${watched}/stream`,
          headers: { authorization: `Bearer ${watcher}` },
          count: streams,
        });
        if (opened.failed > 0) throw new Error(`${opened.failed} streams failed to open: ${opened.firstError}`);
        await sleep(200);
        await clients.call({ type: 'reset' });
        for (let i = 0; i < messages; i++) {
          await api.call('POST', `/v1/conversations/${watched}/messages`, {
            token: a.org.apiKey,
            body: { message: `scale-out ${i}` },
          });
          await sleep(spacingMs);
        }
        const d = await clients.call({ type: 'collect', messages, timeoutMs: 30_000 });
        await clients.call({ type: 'close' });
        if (!d.complete) throw new Error(`${mode}: only ${d.deliveries} of ${d.expected} deliveries arrived`);
        return { p50: d.p50, p99: d.p99 };
      }

      if (!smoke) {
        log(`  ${mode}: warm-up (not counted)`);
        await load.call({ type: 'run', ...spec, durationSec: 2 });
      }
      const bySize = new Map();
      for (const size of sizes) {
        const adding = [];
        for (let i = instances.length; i < size; i++) adding.push(start(i, a.org));
        const started = await Promise.allSettled(adding);
        for (const s of started) if (s.status === 'fulfilled') instances.push(track(s.value));
        const failed = started.find((s) => s.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        const results = [];
        for (let r = 0; r < rounds; r++) {
          const w = await loadWindow();
          const d = await delivery(size === 1 ? a : instances[1]);
          results.push({ ...w, ...d });
          log(
            `  ${mode}, ${plural(size)}, round ${r + 1}/${rounds}: ${fmt(w.sendsPerSec)} sends/s, CPU/event (ms) ${w.cpuByInstance.map((c, i) => `${letter(i)} ${fmt(c)}`).join(', ')}; delivery p50 ${fmt(d.p50)} ms p99 ${fmt(d.p99)} ms`,
          );
        }
        bySize.set(size, results);
      }
      return { bySize, postgres: pg.cluster.version, broker: broker?.version };
    }

    const rows = [];
    const notes = [];
    const raw = {};
    const measured = [];
    for (const mode of MODES) {
      const m = await using((trackMode) => measureMode(mode, trackMode));
      if (m.skipped !== undefined) {
        notes.push(`\`${mode}\` mode not measured: ${m.skipped}`);
        raw[mode] = { skipped: m.skipped };
        continue;
      }
      raw[mode] = Object.fromEntries(m.bySize);
      measured.push(...[...m.bySize.values()].flat());
      rows.push(...modeRows(mode, m.bySize, sizes));
      notes.push(...modeNotes(mode, m.bySize, sizes));
    }
    if (rows.length === 0) return { skipped: notes.join(' '), rows: [], notes: [] };
    const eventsPerSend = median(measured.map((r) => r.eventsPerSend));
    return {
      config: { sizes, members: memberCount, durationSec, streams, messages, rounds },
      rows,
      notes: [
        `Instances are added to the same database as the sizes grow (A alone, then ${sizes
          .slice(1)
          .map(plural)
          .join(
            ', then ',
          )}); the other instances have no client, except B during the delivery measurement. "reference" is the same mode with A alone.`,
        `Load: ${memberCount} members, one conversation each, ${memberCount} connections in a closed loop for ${durationSec} s per round (bench/loadgen/http-load.mjs); CPU (/proc, each process's user + system) and PostgreSQL's counters are read ${settleMs / 1000} s into the load and ${tailMs / 1000} s before its end, and divided by the events committed in between (the orgs' event counters); over whole load runs, ${fmt(eventsPerSend)} event(s) committed per send answered 2xx.`,
        `PostgreSQL${pg.cluster.version ? ` ${pg.cluster.version}` : ''}: transactions and rows read from \`pg_stat_database\` (\`xact_commit\`, \`tup_returned\`: rows returned by sequential and index scans) of the benchmark's database; \`pg_stat_statements\` is not loaded in the throw-away cluster. PostgreSQL CPU is that of the backends serving the database.`,
        `Delivery: ${streams} streams of one conversation on B (on A when A is alone), ${messages} concierge replies sent to A one every ${spacingMs} ms; latency from \`createdAt\` to receipt, as in \`cross-instance\`.`,
        ...notes,
      ],
      raw,
    };
  });
}

/** Rows for one mode: each size's medians, against A alone in the same mode. */
function modeRows(mode, bySize, sizes) {
  const one = medians(bySize.get(sizes[0]));
  const rows = [];
  for (const size of sizes) {
    const m = medians(bySize.get(size));
    const c = `${mode}, ${plural(size)}`;
    const vs = (key) => (size === sizes[0] ? {} : { reference: one[key], ratio: m[key] / one[key] });
    rows.push({ case: c, metric: 'sends/s at A', ours: m.sendsPerSec, ...vs('sendsPerSec') });
    rows.push({ case: c, metric: 'CPU per send at A (ms)', ours: m.cpuA, ...vs('cpuA') });
    if (size > 1) {
      rows.push({ case: c, metric: 'CPU per event at an idle instance (ms, mean)', ours: m.cpuIdle });
      rows.push({
        case: c,
        metric: "idle instance's CPU per event, % of A's per send",
        ours: m.idlePct,
        target: '≤ 2%',
        met: m.idlePct <= 2,
        missedBy: m.idlePct > 2 ? `${fmt(m.idlePct / 2)}× over` : undefined,
      });
    }
    rows.push({ case: c, metric: 'PostgreSQL transactions per event', ours: m.xactsPerEvent, ...vs('xactsPerEvent') });
    const grown = m.rowsPerEvent / one.rowsPerEvent;
    rows.push({
      case: c,
      metric: 'PostgreSQL rows read per event',
      ours: m.rowsPerEvent,
      ...vs('rowsPerEvent'),
      ...(size > sizes[0] && {
        target: '≤ 1.1× A alone',
        met: grown <= 1.1,
        missedBy: grown > 1.1 ? `${fmt(grown)}×` : undefined,
      }),
    });
    if (m.pgCpuPerEvent !== undefined)
      rows.push({ case: c, metric: 'PostgreSQL CPU per event (ms)', ours: m.pgCpuPerEvent, ...vs('pgCpuPerEvent') });
    if (m.brokerCpuPerEvent !== undefined)
      rows.push({
        case: c,
        metric: 'nats-server CPU per event (ms)',
        ours: m.brokerCpuPerEvent,
        ...vs('brokerCpuPerEvent'),
      });
    for (const [p, bound] of [
      ['p50', 5],
      ['p99', 20],
    ]) {
      const added = m[p] - one[p];
      rows.push({
        case: c,
        metric: `delivery ${p} (ms), stream on ${size === 1 ? 'A' : 'B'}`,
        ours: m[p],
        ...vs(p),
        ...(size > 1 && {
          target: `≤ A alone + ${bound} ms`,
          met: added <= bound,
          missedBy: added > bound ? `${fmt(added - bound)} ms over` : undefined,
        }),
      });
    }
  }
  return rows;
}

/** Each instance's own CPU per event (medians over the rounds), and any failed sends. */
function modeNotes(mode, bySize, sizes) {
  const notes = [];
  for (const size of sizes) {
    const results = bySize.get(size);
    const perInstance = results[0].cpuByInstance.map((_, i) => median(results.map((r) => r.cpuByInstance[i])));
    const failures = results.reduce((n, r) => n + r.failures, 0);
    notes.push(
      `${mode}, ${plural(size)}: CPU per event (ms) ${perInstance.map((c, i) => `${letter(i)} ${fmt(c)}`).join(', ')}${failures > 0 ? `; ${failures} sends were not answered 2xx` : ''}.`,
    );
  }
  return notes;
}

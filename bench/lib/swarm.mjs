// Several SSE client processes (bench/loadgen/sse-clients.mjs) driven as one: a process can hold only as many
// sockets as its open-files limit allows, and one source address has only about 28,000 ephemeral ports, so tens
// of thousands of streams are split over processes, each on loopback source addresses of its own (127.0.0.2, …).
import { execFileSync } from 'node:child_process';
import { startLoadgen } from './procs.mjs';
import { percentile } from './stats.mjs';

/** Streams one client process opens at most (below the usual 20,000 open-files hard limit, with room to spare). */
export const STREAMS_PER_PROCESS = 15_000;
/** Sockets per source address: under the ~28,000 ephemeral ports, with room for TIME_WAIT of earlier rounds. */
const STREAMS_PER_ADDRESS = 10_000;

/** The open-files hard limit children get (`ulimit -Hn`), which our benchmarks raise their soft limit to. */
export function openFilesHardLimit() {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

/** Hands out loopback source addresses never used before in this run: 127.0.0.2, 127.0.0.3, … 127.0.1.0, … */
function addressAllocator() {
  let n = 2;
  return () => {
    const a = n++;
    if (a >= 1 << 16) throw new Error('out of loopback source addresses');
    return `127.0.${a >> 8}.${a & 255}`;
  };
}

/** `processes` client processes; `open` splits the streams over them, `collect` pools what they saw. */
export function startSwarm(processes) {
  const clients = Array.from({ length: processes }, () => startLoadgen('sse-clients.mjs'));
  const nextAddress = addressAllocator();
  const all = (message, timeoutMs) => Promise.all(clients.map((c) => c.call(message, timeoutMs)));
  return {
    async open({ count, ...rest }, timeoutMs) {
      const shares = clients.map((_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0));
      const results = await Promise.all(
        clients.map((c, i) => {
          const localAddresses = Array.from({ length: Math.ceil(shares[i] / STREAMS_PER_ADDRESS) }, nextAddress);
          return c.call({ type: 'open', ...rest, count: shares[i], localAddresses }, timeoutMs);
        }),
      );
      return {
        // The processes open their shares at the same time: all are open when the slowest is done.
        ms: Math.max(...results.map((r) => r.ms)),
        opened: results.reduce((n, r) => n + r.opened, 0),
        failed: results.reduce((n, r) => n + r.failed, 0),
        firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
      };
    },
    reset: () => all({ type: 'reset' }),
    async collect({ messages, timeoutMs }) {
      const results = await all({ type: 'collect', messages, timeoutMs, raw: true }, timeoutMs + 60_000);
      const latencies = results.flatMap((r) => r.latencies);
      return {
        complete: results.every((r) => r.complete),
        deliveries: results.reduce((n, r) => n + r.deliveries, 0),
        expected: results.reduce((n, r) => n + r.expected, 0),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: percentile(latencies, 100),
      };
    },
    close: () => all({ type: 'close' }),
    stop: () => Promise.all(clients.map((c) => c.stop())),
  };
}

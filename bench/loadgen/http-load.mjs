// HTTP load generator (autocannon) in its own process, driven over IPC by the benchmark (bench/lib/procs.mjs).
// `run` fires requests at one server for a bounded time and returns throughput and latency percentiles.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { serveIPC } from '../lib/procs.mjs';

/**
 * targets: [{path, token?}] used round-robin, one per request, so load spreads over many members and
 * conversations. `freshIdempotencyKey` gives every request a new `Idempotency-Key` (each send is a new post).
 * `rate` fixes the offered load in requests per second (all connections together).
 */
async function run({
  url,
  method = 'GET',
  targets,
  body,
  connections,
  durationSec,
  freshIdempotencyKey = false,
  rate,
}) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(url)) throw new Error(`loopback only: ${url}`);
  let next = 0;
  const bodyText = body === undefined ? undefined : JSON.stringify(body);
  const result = await autocannon({
    url,
    connections,
    duration: durationSec,
    // An offered load (requests/s over all connections) instead of as fast as the server answers.
    ...(rate !== undefined && { overallRate: rate }),
    // A bounded run: it also stops by itself if the server stops answering.
    timeout: 10,
    requests: [
      {
        method,
        setupRequest(req) {
          const target = targets[next++ % targets.length];
          const headers = { ...req.headers, accept: 'application/json' };
          if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
          if (bodyText !== undefined) headers['content-type'] = 'application/json';
          if (freshIdempotencyKey) headers['idempotency-key'] = randomUUID();
          return { ...req, path: target.path, headers, ...(bodyText !== undefined && { body: bodyText }) };
        },
      },
    ],
  });
  const ok = result['2xx'];
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    max: result.latency.max,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
  };
}

serveIPC({ run });

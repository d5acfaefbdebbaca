// HTTP load generator (autocannon) in its own process, driven over IPC by the benchmark (bench/lib/procs.mjs).
// `run` fires requests at one server for a bounded time and returns throughput and latency percentiles.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { serveIPC } from '../lib/procs.mjs';
import { percentile } from '../lib/stats.mjs';

/** Each request's headers: the target's token, a JSON body's type, and a fresh Idempotency-Key if asked. */
function requestHeaders(target, bodyText, freshIdempotencyKey, base = {}) {
  const headers = { ...base, accept: 'application/json' };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  if (bodyText !== undefined) headers['content-type'] = 'application/json';
  if (freshIdempotencyKey) headers['idempotency-key'] = randomUUID();
  return headers;
}

/**
 * targets: [{path, token?}] used round-robin, one per request, so load spreads over many members and
 * conversations. `freshIdempotencyKey` gives every request a new `Idempotency-Key` (each send is a new post).
 * `rate` fixes the offered load in requests per second (all connections together): see `paced`.
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
  const bodyText = body === undefined ? undefined : JSON.stringify(body);
  if (rate !== undefined)
    return paced({ url, method, targets, bodyText, connections, durationSec, freshIdempotencyKey, rate });
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: durationSec,
    // A bounded run: it also stops by itself if the server stops answering.
    timeout: 10,
    requests: [
      {
        method,
        setupRequest(req) {
          const target = targets[next++ % targets.length];
          const headers = requestHeaders(target, bodyText, freshIdempotencyKey, req.headers);
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

/**
 * An open-loop offered load: request i is due at start + i / rate, evenly spaced, whatever the answers do, over at
 * most `connections` kept-alive sockets (a due request waits for a free one). autocannon's own rate limit is not
 * used: it lets each connection fire its whole quota at the start of every second, so "1,000 requests/s" arrives
 * as a burst of 1,000 once a second, and what a benchmark then measures is how long the burst takes to drain.
 * Latency runs from the time a request was due, not from when it got a socket, so a stalled server cannot hide
 * its stall by slowing the load down (coordinated omission).
 */
function paced({ url, method, targets, bodyText, connections, durationSec, freshIdempotencyKey, rate }) {
  // undici's dispatch: a request costs the generator about a third of what node:http's client does, and the
  // generator shares the machine's two cores with the server under test.
  const pool = new Pool(url, { connections });
  const total = Math.round(rate * durationSec);
  const latencies = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let started = 0;
  let finished = 0;
  const t0 = performance.now() + 20;
  const due = (i) => t0 + (i * 1000) / rate;
  return new Promise((resolve) => {
    const done = () => {
      const durationSec = (performance.now() - t0) / 1000;
      void pool.destroy();
      resolve({
        rps: ok / durationSec,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
        max: latencies.reduce((a, b) => Math.max(a, b), 0),
        ok,
        non2xx,
        errors,
        timeouts,
        durationSec,
      });
    };
    const fire = (i) => {
      const scheduled = due(i);
      const target = targets[i % targets.length];
      let status = 0;
      let settled = false;
      const settle = (outcome) => {
        if (settled) return;
        settled = true;
        if (outcome === 'ok') {
          if (status >= 200 && status < 300) ok++;
          else non2xx++;
          latencies.push(performance.now() - scheduled);
        } else if (outcome === 'timeout') timeouts++;
        else errors++;
        if (++finished === total) done();
      };
      pool.dispatch(
        {
          path: target.path,
          method,
          headers: requestHeaders(target, bodyText, freshIdempotencyKey),
          body: bodyText,
          // A bounded run: a request the server never answers ends here.
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        },
        {
          onRequestStart() {},
          onResponseStart(_c, statusCode) {
            status = statusCode;
          },
          onResponseData() {},
          onResponseEnd: () => settle('ok'),
          onResponseError: (_c, error) =>
            settle(/timeout/i.test(String(error?.code ?? error?.message)) ? 'timeout' : 'error'),
        },
      );
    };
    const tick = () => {
      const now = performance.now();
      while (started < total && due(started) <= now) fire(started++);
      if (started < total) setTimeout(tick, Math.max(0, due(started) - performance.now()));
    };
    if (total === 0) done();
    else setTimeout(tick, 20);
  });
}

serveIPC({ run });

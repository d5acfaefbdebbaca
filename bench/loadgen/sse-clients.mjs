// SSE client swarm in its own process, driven over IPC (bench/lib/procs.mjs): opens many streams, records for
// every `data:` event the delay from the message's `createdAt` (stamped by the server at commit) to its receipt
// here, and reports when every stream has every message.
import { performance } from 'node:perf_hooks';
import { serveIPC } from '../lib/procs.mjs';
import { openRaw } from '../lib/sse.mjs';
import { percentile } from '../lib/stats.mjs';

/** Wall-clock now in ms with sub-ms precision, comparable with another process's Date.now() on this host. */
const now = () => performance.timeOrigin + performance.now();

let streams = [];
/** message id → how many streams have it */
let counts = new Map();
let latencies = [];
let recording = false;

function onEvent(text) {
  if (!recording) return;
  // One Message per `data:` line on these routes (its JSON has no raw newlines).
  const at = text.indexOf('data: ');
  if (at === -1) return;
  const end = text.indexOf('\n', at);
  const message = JSON.parse(text.slice(at + 6, end === -1 ? undefined : end));
  latencies.push(now() - Date.parse(message.createdAt));
  counts.set(message.id, (counts.get(message.id) ?? 0) + 1);
}

/**
 * Opens `count` streams, `concurrency` at a time. `localAddresses` (loopback only) are the source addresses the
 * sockets are spread over, round-robin: one address has about 28,000 ephemeral ports (and a closed socket holds
 * its port in TIME_WAIT for a minute), so the benchmark hands every `open` fresh ones.
 */
async function open({ url, path, headers = {}, count, concurrency = 200, timeoutMs = 120_000, localAddresses = [] }) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(url)) throw new Error(`loopback only: ${url}`);
  for (const a of localAddresses) if (!/^127\.\d+\.\d+\.\d+$/.test(a)) throw new Error(`loopback only: ${a}`);
  const started = now();
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  let failed = 0;
  let firstError = null;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      const from = localAddresses.length === 0 ? undefined : localAddresses[i % localAddresses.length];
      try {
        streams.push(await openRaw(url, path, headers, onEvent, from));
      } catch (error) {
        failed++;
        firstError ??= String(error.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { ms: now() - started, opened: streams.length, failed, firstError };
}

function reset() {
  counts = new Map();
  latencies = [];
  recording = true;
  return { streams: streams.length };
}

/**
 * Waits until `messages` distinct messages have each reached every open stream (or the timeout), then reports;
 * with `raw`, the latencies themselves too, so a benchmark driving several of these processes can pool them.
 */
async function collect({ messages, timeoutMs = 30_000, raw = false }) {
  const deadline = Date.now() + timeoutMs;
  const complete = () => counts.size >= messages && [...counts.values()].every((n) => n >= streams.length);
  while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  recording = false;
  return {
    complete: complete(),
    messages: counts.size,
    deliveries: latencies.length,
    expected: messages * streams.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    ...(raw && { latencies }),
  };
}

async function close() {
  for (const s of streams) s.req.destroy();
  const n = streams.length;
  streams = [];
  return { closed: n };
}

serveIPC({ open, reset, collect, close });

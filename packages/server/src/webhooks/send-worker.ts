import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { webhookBody } from './render.js';
import { faulted, Sender, type SendResult } from './send.js';
import { signatureHeader } from './signing.js';
import {
  NOT_SENT,
  type FromSender,
  type JobOutcome,
  type SenderJob,
  type SenderThreadOptions,
  type ToSender,
} from './worker-sender.js';

/**
 * The delivery requests' thread (see worker-sender.ts): holds the jobs handed to it in a queue per endpoint, starts
 * each endpoint's next one as soon as it has a free slot, renders each body from the stored row, signs it, sends it
 * with the Sender, and answers with the outcomes, those of one turn together.
 */
const options = workerData as SenderThreadOptions;

/**
 * FAULT INJECTION, for tests only: with `CONCIERGE_FAULT_SENDER_CRASH=<path>`, the thread dies on the next batch it
 * receives while a file exists at `<path>`, as a bug outside any one delivery or an out-of-memory would end it.
 * Unset, which is every real deployment, it does nothing. Worker threads see the process's environment.
 */
const crashMarker = process.env.CONCIERGE_FAULT_SENDER_CRASH;
const sender = new Sender(options);
const port = parentPort!;

// Normal priority. It ran at nice 10 until the webhook benchmark ran at an evenly paced 1,000 messages a second:
// with the machine's two cores busy, the thread got too little CPU to keep up, and the healthy endpoints' p99 was
// about a second; at priority 0 it was about 110 ms. Under a load that saturates the API, the deliverer yields by
// claiming less (deliverer.ts, BUSY_WRITES) instead.

type Waiting = { job: SenderJob; body: string };

/** Jobs waiting for a slot, per endpoint, oldest first (the order the deliverer handed them over). */
const queues = new Map<string, Waiting[]>();
/** Requests in flight per endpoint. */
const busy = new Map<string, number>();
let closed = false;

let results: { id: number; result: JobOutcome }[] = [];
function answer(id: number, result: JobOutcome): void {
  if (results.length === 0) setImmediate(flush);
  results.push({ id, result });
}
function flush(): void {
  const batch = results;
  results = [];
  port.postMessage({ results: batch } satisfies FromSender);
}

/**
 * One attempt. Whatever it throws (signing, the request's setup) fails this delivery alone, with the error as its
 * reason; a throw that escaped would end the thread, and with it every other endpoint's attempts in flight.
 */
function attempt(job: SenderJob, body: string): Promise<SendResult> {
  try {
    return send(job, body).catch((error: unknown) => faulted('sender error', error));
  } catch (error) {
    return Promise.resolve(faulted('sender error', error));
  }
}

function send(job: SenderJob, body: string): Promise<SendResult> {
  const now = Date.now();
  const timestamp = Math.floor(now / 1000);
  return sender.post(
    job.url,
    {
      'content-type': 'application/json',
      'user-agent': 'Concierge-Webhooks/1',
      'webhook-id': job.deliveryID,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(job, job.deliveryID, timestamp, body, now),
    },
    body,
  );
}

/** Starts the endpoint's waiting jobs while it has free slots. */
function pump(endpoint: string): void {
  const q = queues.get(endpoint);
  if (q === undefined) return;
  const now = Date.now();
  while (q.length > 0 && (busy.get(endpoint) ?? 0) < options.concurrency && !closed) {
    const { job, body } = q.shift()!;
    if (job.startBy !== null && now > job.startBy) {
      // Too little lease left for a whole attempt: it is claimed again once the lease runs out.
      answer(job.id, NOT_SENT);
      continue;
    }
    busy.set(endpoint, (busy.get(endpoint) ?? 0) + 1);
    void attempt(job, body).then((result) => {
      const left = (busy.get(endpoint) ?? 1) - 1;
      if (left === 0) busy.delete(endpoint);
      else busy.set(endpoint, left);
      answer(job.id, result);
      pump(endpoint);
    });
  }
  if (q.length === 0) queues.delete(endpoint);
}

port.on('message', (m: ToSender) => {
  if ('close' in m) {
    // What never left is answered as such (the deliverer gives its leases up); what is in flight is cut, and
    // answered as the failed attempt it is.
    closed = true;
    for (const q of queues.values()) for (const { job } of q) answer(job.id, NOT_SENT);
    queues.clear();
    sender.close();
    return;
  }
  if (crashMarker !== undefined && crashMarker !== '' && existsSync(crashMarker))
    throw new Error('sender thread crashed (injected by CONCIERGE_FAULT_SENDER_CRASH)');
  // Each event rendered once for all the endpoints it goes to in this batch. A stored event that cannot be rendered
  // (a row damaged outside the server) fails its own deliveries, each a failed attempt with the reason.
  const bodies = m.events.map((e): string | SendResult => {
    try {
      return webhookBody(e);
    } catch (error) {
      return faulted('body not rendered', error);
    }
  });
  const touched = new Set<string>();
  for (const job of m.jobs) {
    if (closed) {
      answer(job.id, NOT_SENT);
      continue;
    }
    const body = bodies[job.event]!;
    if (typeof body !== 'string') {
      answer(job.id, body);
      continue;
    }
    let q = queues.get(job.endpoint);
    if (q === undefined) queues.set(job.endpoint, (q = []));
    q.push({ job, body });
    touched.add(job.endpoint);
  }
  for (const endpoint of touched) pump(endpoint);
});

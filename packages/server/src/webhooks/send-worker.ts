import { parentPort, workerData } from 'node:worker_threads';
import { webhookBody } from './render.js';
import { Sender, type SendOptions, type SendResult } from './send.js';
import { signatureHeader } from './signing.js';
import type { FromSender, SenderJob, ToSender } from './worker-sender.js';

/**
 * The delivery requests' thread (see worker-sender.ts): renders each job's body from the stored row, signs it,
 * sends it with the Sender, and answers with the results, those of one turn together.
 */
const sender = new Sender(workerData as SendOptions);
const port = parentPort!;

// Normal priority. It ran at nice 10 until the webhook benchmark ran at an evenly paced 1,000 messages a second:
// with the machine's two cores busy, the thread got too little CPU to keep up, and the healthy endpoints' p99 was
// about a second; at priority 0 it was about 110 ms. Under a load that saturates the API, the deliverer yields by
// claiming less (deliverer.ts, BUSY_WRITES) instead.

let results: { id: number; result: SendResult }[] = [];
function answer(id: number, result: SendResult): void {
  if (results.length === 0) setImmediate(flush);
  results.push({ id, result });
}
function flush(): void {
  const batch = results;
  results = [];
  port.postMessage({ results: batch } satisfies FromSender);
}

function attempt(job: SenderJob, body: string): Promise<SendResult> {
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

port.on('message', (m: ToSender) => {
  if ('close' in m) {
    sender.close();
    return;
  }
  // Each event rendered once for all the endpoints it goes to in this batch.
  const bodies = m.events.map((e) => webhookBody(e));
  for (const job of m.jobs) void attempt(job, bodies[job.event]!).then((result) => answer(job.id, result));
});

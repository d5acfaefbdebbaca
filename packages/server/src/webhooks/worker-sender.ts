import { Worker } from 'node:worker_threads';
import type { SendOptions, SendResult } from './send.js';

/** What the thread needs to make one attempt: it renders the body and signs it there. */
export interface DeliveryJob {
  url: string;
  deliveryID: string;
  eventType: string;
  data: string;
  createdAt: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
}

/** Messages to the thread: a batch of jobs, or `close`. From it: a batch of results. */
export type ToSender = { jobs: { id: number; job: DeliveryJob }[] } | { close: true };
export type FromSender = { results: { id: number; result: SendResult }[] };

/**
 * The delivery requests on a thread of their own. Every event a healthy org makes fans out to one request per
 * endpoint, and with ten endpoints the client side of those requests (rendering, signing, sockets, parsing, TLS)
 * costs more than the send that caused them; on the API's event loop it would slow every route. On a worker it
 * uses another core, and the event loop only passes small messages, batched: the jobs started in one turn go in
 * one message, and the thread answers the attempts that ended in one of its turns in one message (a message costs
 * about as much as a few attempts' bookkeeping). The thread runs at a lower scheduling priority (send-worker.ts),
 * so when the machine is short of CPU the API's requests go first and deliveries wait. If the thread dies, its
 * requests in flight end as failed attempts (retried on the schedule) and the next request starts a new thread.
 */
export class WorkerSender {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (result: SendResult) => void>();
  private outgoing: { id: number; job: DeliveryJob }[] = [];
  private next = 0;
  private closing = false;

  constructor(private readonly options: SendOptions) {}

  private thread(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL('./send-worker.js', import.meta.url), { workerData: this.options });
    worker.on('message', (m: FromSender) => {
      for (const { id, result } of m.results) {
        const done = this.pending.get(id);
        this.pending.delete(id);
        done?.(result);
      }
    });
    const failed = (why: string) => {
      if (this.worker === worker) this.worker = null;
      for (const done of this.pending.values())
        done({ statusCode: null, error: why, responseBody: null, latencyMs: 0 });
      this.pending.clear();
    };
    worker.on('error', (error) => failed(`sender thread failed: ${error.message}`));
    worker.on('exit', () => failed('sender thread exited'));
    // The thread must never keep the process alive by itself.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  deliver(job: DeliveryJob): Promise<SendResult> {
    if (this.closing)
      return Promise.resolve({ statusCode: null, error: 'shutting down', responseBody: null, latencyMs: 0 });
    const id = ++this.next;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.outgoing.length === 0) queueMicrotask(() => this.flush());
      this.outgoing.push({ id, job });
    });
  }

  private flush(): void {
    const jobs = this.outgoing;
    this.outgoing = [];
    if (jobs.length > 0) this.thread().postMessage({ jobs } satisfies ToSender);
  }

  /** Cuts the requests in flight (their results come back as failures), then ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    const worker = this.worker;
    if (worker === null) return;
    worker.postMessage({ close: true } satisfies ToSender);
    for (let i = 0; i < 100 && this.pending.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await worker.terminate();
  }
}

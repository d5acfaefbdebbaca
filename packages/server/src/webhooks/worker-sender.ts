import { Worker } from 'node:worker_threads';
import type { SendOptions, SendResult } from './send.js';

/**
 * The Sender on a thread of its own. Every event a healthy org makes fans out to one request per endpoint, and
 * with ten endpoints the client side of those requests (sockets, parsing, TLS) costs more than the send that
 * caused them; on the API's event loop it would slow every route. On a worker it uses another core, and the
 * event loop only passes small messages. If the thread dies, its requests in flight end as failed attempts
 * (retried on the schedule) and the next request starts a new thread.
 */
export class WorkerSender {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (result: SendResult) => void>();
  private next = 0;
  private closing = false;

  constructor(private readonly options: SendOptions) {}

  private thread(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL('./send-worker.js', import.meta.url), { workerData: this.options });
    worker.on('message', (m: { id: number; result: SendResult }) => {
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      done?.(m.result);
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

  post(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    if (this.closing)
      return Promise.resolve({ statusCode: null, error: 'shutting down', responseBody: null, latencyMs: 0 });
    const id = ++this.next;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.thread().postMessage({ id, url, headers, body });
    });
  }

  /** Cuts the requests in flight (their results come back as failures), then ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (worker === null) return;
    worker.postMessage({ close: true });
    for (let i = 0; i < 100 && this.pending.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await worker.terminate();
  }
}

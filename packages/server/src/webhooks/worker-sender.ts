import { Worker } from 'node:worker_threads';
import type { SendOptions, SendResult } from './send.js';

/** What the thread needs to make one attempt: it renders the body and signs it there. */
export interface DeliveryJob {
  /** Whose slots the attempt takes (the endpoint's id): at most `concurrency` of one endpoint's are in flight. */
  endpoint: string;
  url: string;
  deliveryID: string;
  eventType: string;
  data: string;
  createdAt: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  /**
   * A job still waiting for a slot at this time (ms) is not sent: its lease would not outlast the request. Null for
   * one that may wait as long as it takes (a delivery from the outbox rides on its endpoint's range lease).
   */
  startBy: number | null;
}

/** What a body is rendered from: the same for every endpoint an event goes to. */
export type DeliveryEvent = Pick<DeliveryJob, 'eventType' | 'data' | 'createdAt'>;

/** One attempt in a batch: its event by index into the batch's `events`. */
export type SenderJob = { id: number; event: number } & Omit<DeliveryJob, keyof DeliveryEvent>;

/** A job's end: the attempt's result, or NOT_SENT when it never left (its start-by time passed, or the thread closed). */
export const NOT_SENT = 'not-sent';
export type JobOutcome = SendResult | typeof NOT_SENT;

export interface SenderThreadOptions extends SendOptions {
  /** Attempts in flight per endpoint (`--webhook-concurrency`). */
  concurrency: number;
}

/**
 * Messages to the thread: a batch of jobs with the events they send (each event once, however many endpoints it
 * goes to: it is copied into the message once and rendered once), or `close`. From it: a batch of outcomes.
 */
export type ToSender = { events: DeliveryEvent[]; jobs: SenderJob[] } | { close: true };
export type FromSender = { results: { id: number; result: JobOutcome }[] };

/**
 * The delivery requests on a thread of their own. Every event a healthy org makes fans out to one request per
 * endpoint, and with ten endpoints the client side of those requests (rendering, signing, sockets, parsing, TLS)
 * costs more than the send that caused them; on the API's event loop it would slow every route. On a worker it
 * uses another core, and the event loop only passes small messages, batched: the jobs started in one turn go in
 * one message, and the thread answers the attempts that ended in one of its turns in one message (a message costs
 * about as much as a few attempts' bookkeeping).
 *
 * The endpoints' slots are the thread's: it holds the jobs handed to it and starts an endpoint's next one the moment
 * one of its requests ends. When the event loop started each attempt, a slot stayed taken for two hops between the
 * threads and a turn of a busy event loop as well as the request (15 to 18 ms a cycle at 1,000 events a second into
 * 10 endpoints, where the request took 1 to 3), and 16 slots fell short of 1,000 deliveries a second per endpoint.
 *
 * An attempt that throws fails alone, in the thread (send-worker.ts). If the thread itself dies (a bug outside any
 * one attempt, an out-of-memory), its jobs, in flight or waiting there, end as failed attempts with the reason
 * (retried on the schedule, with the same `webhook-id`: one in flight may have reached its receiver), `onDeath` is
 * told, and the next job starts a new thread. Nothing handed over is dropped: every job is answered once.
 */
export class WorkerSender {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (result: JobOutcome) => void>();
  private outgoing: { id: number; job: DeliveryJob }[] = [];
  private next = 0;
  private closing = false;

  constructor(
    private readonly options: SenderThreadOptions,
    /** The thread died unexpectedly: why, and how many jobs it held (each answered as a failed attempt). */
    private readonly onDeath: (why: string, jobs: number) => void = () => {},
  ) {}

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
    // 'error' (an uncaught exception) is followed by 'exit'; an exit of its own (or at close) comes alone. Either
    // ends this thread: the first one answers its jobs, and the next job starts another thread.
    const failed = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      // Jobs not yet posted (waiting for this turn's flush) go to the next thread instead.
      const unposted = new Set(this.outgoing.map((o) => o.id));
      const jobs: ((result: JobOutcome) => void)[] = [];
      for (const [id, done] of this.pending)
        if (!unposted.has(id)) {
          jobs.push(done);
          this.pending.delete(id);
        }
      if (!this.closing) this.onDeath(why, jobs.length);
      for (const done of jobs) done({ statusCode: null, error: why, responseBody: null, latencyMs: 0 });
    };
    worker.on('error', (error) => failed(`sender thread failed: ${error.message}`));
    worker.on('exit', (code) => failed(`sender thread exited (code ${code})`));
    // The thread must never keep the process alive by itself.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Hands a job to the thread; it waits there for one of its endpoint's slots. */
  deliver(job: DeliveryJob): Promise<JobOutcome> {
    if (this.closing) return Promise.resolve(NOT_SENT);
    const id = ++this.next;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.outgoing.length === 0) queueMicrotask(() => this.flush());
      this.outgoing.push({ id, job });
    });
  }

  private flush(): void {
    const outgoing = this.outgoing;
    this.outgoing = [];
    if (outgoing.length === 0) return;
    // The deliveries of one outbox row share its data string, so the map finds them by it at little cost: keyed
    // by the string itself, whose hash V8 keeps on it, not by a new string joined from the event's fields (this
    // function's own time, that join and its hash of about 600 characters a delivery included, was 1.8% of the event
    // loop's in the webhook benchmark).
    const index = new Map<string, number[]>();
    const events: DeliveryEvent[] = [];
    const jobs: SenderJob[] = [];
    for (const { id, job } of outgoing) {
      const { eventType, data, createdAt, ...rest } = job;
      let same = index.get(data);
      if (same === undefined) index.set(data, (same = []));
      let event = same.find((i) => events[i]!.eventType === eventType && events[i]!.createdAt === createdAt);
      if (event === undefined) {
        event = events.push({ eventType, data, createdAt }) - 1;
        same.push(event);
      }
      jobs.push({ id, event, ...rest });
    }
    this.thread().postMessage({ events, jobs } satisfies ToSender);
  }

  /** Cuts the requests in flight (their results come back as failures) and the jobs waiting (NOT_SENT), then ends the thread. */
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

import { Worker } from 'node:worker_threads';
import { rememberRendered } from '../replay-renderers.js';
import { StorageUnavailable, type StoredEvent } from '../store.js';
import type { WriteCall } from '../write-calls.js';
import { fromWire } from './thread-errors.js';
import type { FromWriter, ToWriter, WriterThreadData } from './writer-protocol.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

export interface ThreadWriterOptions extends WriterThreadData {
  /** The events of each durable batch, in commit order (the connection hands them to its commit listeners). */
  onCommit: (events: StoredEvent[]) => void;
  /** The writer thread's flush of the log failed after a commit (fatal-flush.ts). */
  onFatal: (error: Error) => void;
  /** The writer thread ended without being asked to; every write waiting for it has been failed already. */
  onLost: (error: Error) => void;
}

/**
 * The main thread's end of the writer thread (writer-thread.ts): writes go there as data (write-calls.ts), in one
 * message per event-loop turn, and come back as answers with the events they made durable. Nothing of SQLite runs
 * on the event loop for a write, so its statement time no longer delays parsing and answering other requests.
 */
export class ThreadWriter {
  private nextID = 1;
  private readonly pending = new Map<number, Pending>();
  private outgoing: { id: number; call: WriteCall }[] = [];
  private scheduled = false;
  private lost: Error | null = null;
  private closing = false;
  private closed: (() => void) | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly options: ThreadWriterOptions,
  ) {
    worker.on('message', (message: FromWriter) => this.receive(message));
    let crash: Error | null = null;
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => {
      if (this.closing && this.lost === null) return;
      this.fail(crash ?? new Error(`the writer thread exited with code ${code}`));
    });
  }

  static async start(options: ThreadWriterOptions): Promise<ThreadWriter> {
    const data: WriterThreadData = {
      filename: options.filename,
      durability: options.durability,
      replayRenderers: options.replayRenderers,
    };
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromWriter) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        if (message.type === 'ready') resolve();
        else if (message.type === 'open-failed') {
          reject(fromWire(message.error));
          void worker.terminate();
        } else reject(new Error(`unexpected first message from the writer thread: ${message.type}`));
      };
      const onExit = (code: number) => reject(new Error(`the writer thread exited with code ${code} while opening`));
      worker.on('message', onMessage);
      worker.on('exit', onExit);
    });
    return new ThreadWriter(worker, options);
  }

  run<T>(call: WriteCall): Promise<T> {
    if (this.lost !== null) return Promise.reject(unavailable(this.lost));
    const id = this.nextID++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.outgoing.push({ id, call });
      if (!this.scheduled) {
        this.scheduled = true;
        // As group commit does: every write parsed in this turn goes over in one message.
        setImmediate(() => this.send());
      }
    });
  }

  private send(): void {
    this.scheduled = false;
    if (this.outgoing.length === 0 || this.lost !== null) return;
    const message: ToWriter = { type: 'write', ops: this.outgoing };
    this.outgoing = [];
    this.worker.postMessage(message);
  }

  private receive(message: FromWriter): void {
    switch (message.type) {
      case 'done':
        for (const answer of message.answers) {
          const waiting = this.pending.get(answer.id);
          if (waiting === undefined) continue;
          this.pending.delete(answer.id);
          if ('error' in answer) waiting.reject(fromWire(answer.error));
          else {
            if (answer.rendered !== undefined) rememberRendered(answer.value, answer.rendered);
            waiting.resolve(answer.value);
          }
        }
        // Subscribers hear of a write once it is durable, in commit order, as from the main thread's writer.
        if (message.events.length > 0) this.options.onCommit(message.events);
        return;
      case 'fatal':
        this.options.onFatal(
          Object.assign(new Error(message.message), message.code === null ? {} : { code: message.code }),
        );
        return;
      case 'closed':
        this.closed?.();
        return;
      case 'ready':
      case 'open-failed':
        return;
    }
  }

  /** Every write still waiting is answered 503 (its fate is unknown; its Idempotency-Key makes a retry safe). */
  private fail(error: Error): void {
    if (this.lost !== null) return;
    this.lost = error;
    this.outgoing = [];
    for (const waiting of this.pending.values()) waiting.reject(unavailable(error));
    this.pending.clear();
    this.closed?.();
    this.options.onLost(error);
  }

  /** Sends what is queued, lets the thread commit and flush it, and ends the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.send();
    if (this.lost === null) {
      await new Promise<void>((resolve) => {
        this.closed = resolve;
        this.worker.postMessage({ type: 'close' } satisfies ToWriter);
      });
    }
    await this.worker.terminate();
  }
}

function unavailable(error: Error): StorageUnavailable {
  return new StorageUnavailable('the writer thread stopped', { cause: error });
}

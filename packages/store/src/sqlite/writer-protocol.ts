import type { Rendered } from '../replay-renderers.js';
import type { StoredEvent } from '../store.js';
import type { WriteCall } from '../write-calls.js';
import type { WireError } from './thread-errors.js';

/** What the writer thread is started with (`workerData`). */
export interface WriterThreadData {
  filename: string;
  durability: 'wal-flush' | 'FULL';
  /** The module of replay renderers the main thread loaded (replay-renderers.ts), or null if none. */
  replayRenderers: string | null;
}

/** Main thread → writer thread: the writes submitted during one event-loop turn, or the end. */
export type ToWriter = { type: 'write'; ops: { id: number; call: WriteCall }[] } | { type: 'close' };

/** A write's value, with the idempotent answer the thread rendered for it if any (replay-renderers.ts). */
export type Answer = { id: number; value: unknown; rendered?: Rendered } | { id: number; error: WireError };

/**
 * Writer thread → main thread. `done` carries the answers settled together and the events they made durable, in
 * commit order; `fatal` means a flush of the log failed after a commit (fatal-flush.ts): nobody is answered.
 */
export type FromWriter =
  | { type: 'ready' }
  | { type: 'open-failed'; error: WireError }
  | { type: 'done'; answers: Answer[]; events: StoredEvent[] }
  | { type: 'fatal'; message: string; code: string | null }
  | { type: 'closed' };

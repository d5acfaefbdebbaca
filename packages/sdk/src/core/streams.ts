import { RecentIDs } from '../internal/ids.js';
import { resumable, type RawEvent } from '../internal/sse.js';
import type { Query, Transport } from '../internal/transport.js';
import { ConciergeError } from './errors.js';
import type { ListMessagesResponse, Message, StreamEvent, StreamEventMap } from './types.js';

export interface StreamOptions {
  /** Resume after this event id (a message's cursor, or a `stream()` event id) instead of starting live. */
  after?: string | undefined;
  /** Aborting ends the iteration with AbortError. `break` or `close()` end it quietly. */
  signal?: AbortSignal | undefined;
}

/**
 * A live stream: an async iterator that reconnects by itself. `break` out of `for await`, `close()`, or the
 * signal closes the connection. `lastEventID` is the resume point to store if the app wants to continue after
 * a restart (pass it back as `after`).
 */
export class LiveStream<T> implements AsyncIterableIterator<T> {
  private readonly controller = new AbortController();
  private readonly state: { lastEventID: string | null };
  private readonly iterator: AsyncGenerator<T, void, undefined>;

  /** @internal */
  constructor(
    make: (state: { lastEventID: string | null }, signal: AbortSignal, callerSignal: AbortSignal | undefined) => AsyncGenerator<T, void, undefined>,
    options: StreamOptions,
  ) {
    this.state = { lastEventID: options.after ?? null };
    const caller = options.signal;
    if (caller !== undefined) {
      if (caller.aborted) this.controller.abort(caller.reason);
      else caller.addEventListener('abort', () => this.controller.abort(caller.reason), { once: true });
    }
    this.iterator = make(this.state, this.controller.signal, caller);
  }

  get lastEventID(): string | null {
    return this.state.lastEventID;
  }

  next(): Promise<IteratorResult<T, void>> {
    return this.iterator.next();
  }

  /** Called by `break`: closes the connection first, so the pending read ends and the generator can return. */
  return(): Promise<IteratorResult<T, void>> {
    this.controller.abort();
    return this.iterator.return(undefined);
  }

  close(): void {
    void this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface StreamContext {
  transport: Transport;
  heartbeatMs: number;
  timeoutMs: number;
}

/**
 * One conversation's messages, gapless. With a resume point the server replays what is newer. Without one the
 * stream starts live, and history bridges what a live connection cannot: after the first connection is up, one
 * `listMessages` page notes the newest message (the anchor), and `syncMessages` yields that page first; if a
 * connection then drops before any event gave the stream an id, the next connection is followed by a walk back
 * through history to the anchor, so messages sent while it was down still arrive. Every message id is
 * remembered (the last 2000), so the seams between history and live never repeat one.
 */
export async function* messageStream(
  ctx: StreamContext,
  list: (cursor: string | undefined, limit: number, signal: AbortSignal) => Promise<ListMessagesResponse>,
  path: string,
  query: Query,
  history: number,
  state: { lastEventID: string | null },
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined,
): AsyncGenerator<Message, void, undefined> {
  const seen = new RecentIDs();
  let started = false;
  let anchor: string | null = null;
  const onOpen = async (resumeID: string | null, connection: AbortSignal): Promise<Message[]> => {
    if (resumeID !== null) return [];
    if (!started) {
      const page = await list(undefined, Math.max(history, 1), connection);
      started = true;
      anchor = page.messages[0]?.id ?? anchor;
      return history > 0 ? page.messages.slice().reverse() : [];
    }
    const missed: Message[] = [];
    let cursor: string | undefined;
    // Bounded: a walk that does not meet the anchor in 50 pages of 100 stops there.
    for (let i = 0; i < 50; i++) {
      const page = await list(cursor, 100, connection);
      const at = anchor === null ? -1 : page.messages.findIndex((m) => m.id === anchor);
      missed.push(...(at >= 0 ? page.messages.slice(0, at) : page.messages));
      if (at >= 0 || page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    return missed.reverse();
  };
  const items = resumable<Message>({ ...ctx, path, query, state, signal, callerSignal, onOpen });
  for await (const item of items) {
    const message = item.kind === 'fill' ? item.value : parseData<Message>(item.event);
    if (seen.has(message.id)) continue;
    seen.add(message.id);
    anchor = message.id;
    yield message;
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set<keyof StreamEventMap>(['message', 'conversation', 'read', 'typing']);

/**
 * The one-connection stream of typed events, resumed by id after every drop, duplicates dropped. Event types
 * this SDK does not know yet are skipped (the server may add some). Typing events carry no id: they are not
 * replayed after a drop.
 */
export async function* eventStream(
  ctx: StreamContext,
  path: string,
  query: Query,
  state: { lastEventID: string | null },
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined,
): AsyncGenerator<StreamEvent, void, undefined> {
  const seen = new RecentIDs();
  for await (const item of resumable<never>({ ...ctx, path, query, state, signal, callerSignal })) {
    if (item.kind !== 'event') continue;
    const { event } = item;
    if (event.event === undefined || !EVENT_TYPES.has(event.event)) continue;
    const id = event.id ?? null;
    if (id !== null) {
      if (seen.has(id)) continue;
      seen.add(id);
    }
    yield { type: event.event, id, data: parseData(event) } as StreamEvent;
  }
}

function parseData<T>(event: RawEvent): T {
  try {
    return JSON.parse(event.data) as T;
  } catch (cause) {
    throw new ConciergeError('The stream sent an event whose data is not JSON.', { cause });
  }
}

import type { ListMessagesResponse, Message, StreamEvent, StreamEventMap } from '@concierge/protocol';
import { RecentIDs } from '../internal/ids.js';
import { sleep } from '../internal/backoff.js';
import { backoff, ended, fatal, resumable, type RawEvent, type StreamStatus } from '../internal/sse.js';
import type { Query, Transport } from '../internal/transport.js';
import { ConciergeError } from './errors.js';

/** Where a stream starts: a parameter of the call, beside the conversation or member it names. */
export interface ResumeParams {
  /** Resume after this event id (a message's cursor, or a `stream()` event id) instead of starting live. */
  after?: string | undefined;
}

export interface StreamOptions {
  /** Aborting ends the iteration with AbortError. `break` or `close()` end it quietly. */
  signal?: AbortSignal | undefined;
  /** Called with `open` when a connection is up and `reconnecting` when it dropped (a UI's "reconnecting…"). */
  onStatus?: ((status: StreamStatus) => void) | undefined;
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
    make: (
      state: { lastEventID: string | null },
      signal: AbortSignal,
      callerSignal: AbortSignal | undefined,
    ) => AsyncGenerator<T, void, undefined>,
    after: string | undefined,
    caller: AbortSignal | undefined,
  ) {
    this.state = { lastEventID: after ?? null };
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
 * One conversation's messages, gapless. With a resume point (`after`, or the id of the last event) the server
 * replays what is newer. Without one, the stream starts from history: one `listMessages` page (its newest
 * message; `syncMessages` yields the whole page first), and the page's `latestCursor` becomes the resume point,
 * so whatever is sent after the page arrives over the stream, none of it twice.
 *
 * A server too old to send `latestCursor` gets the same guarantee the long way: the page's newest message is
 * the anchor, and whenever a connection opens without a resume point, history is walked back to the anchor and
 * what is newer is yielded first. Every message id is remembered (the last 2000), so the seams never repeat one.
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
  onStatus?: StreamOptions['onStatus'],
): AsyncGenerator<Message, void, undefined> {
  const seen = new RecentIDs();
  let anchor: string | null = null;
  if (state.lastEventID === null) {
    const page = await firstPage(() => list(undefined, Math.max(history, 1), signal), signal, callerSignal);
    if (page === null) return;
    anchor = page.messages[0]?.id ?? null;
    const latest = (page as Partial<ListMessagesResponse>).latestCursor;
    if (typeof latest === 'string' && latest !== '') state.lastEventID = latest;
    if (history > 0)
      for (const m of page.messages.slice().reverse()) {
        seen.add(m.id);
        yield m;
      }
  }
  const onOpen = async (resumeID: string | null, connection: AbortSignal): Promise<Message[]> => {
    if (resumeID !== null) return [];
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
  const o = { ...ctx, path, query, state, signal, callerSignal, onOpen, onStatus };
  for await (const item of resumable<Message>(o)) {
    const message = item.kind === 'fill' ? item.value : parseData<Message>(item.event);
    if (seen.has(message.id)) continue;
    seen.add(message.id);
    anchor = message.id;
    yield message;
  }
}

/** The first page, retried like a reconnect (a stream started offline waits for the network); null when closed. */
async function firstPage(
  fetchPage: () => Promise<ListMessagesResponse>,
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined,
): Promise<ListMessagesResponse | null> {
  for (let failures = 1; ; failures++) {
    try {
      return await fetchPage();
    } catch (error) {
      if (fatal(error) && !signal.aborted) throw error;
    }
    try {
      if (signal.aborted) throw signal.reason;
      await sleep(backoff(failures), signal);
    } catch {
      ended({ callerSignal });
      return null;
    }
  }
}

export const EVENT_TYPES: ReadonlySet<string> = new Set<keyof StreamEventMap>([
  'message',
  'conversation',
  'read',
  'typing',
]);

/**
 * The one-connection stream of typed events, resumed by id after every drop, duplicates dropped. Event types
 * this SDK does not know yet are skipped (the server may add some). Typing events carry no id: they are not
 * replayed after a drop.
 */
export async function* eventStream<E = StreamEvent>(
  ctx: StreamContext,
  path: string,
  query: Query,
  state: { lastEventID: string | null },
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined,
  onStatus?: StreamOptions['onStatus'],
  types: ReadonlySet<string> = EVENT_TYPES,
): AsyncGenerator<E, void, undefined> {
  const seen = new RecentIDs();
  for await (const item of resumable<never>({ ...ctx, path, query, state, signal, callerSignal, onStatus })) {
    if (item.kind !== 'event') continue;
    const { event } = item;
    if (event.event === undefined || !types.has(event.event)) continue;
    const id = event.id ?? null;
    if (id !== null) {
      if (seen.has(id)) continue;
      seen.add(id);
    }
    yield { type: event.event, id, data: parseData(event) } as E;
  }
}

function parseData<T>(event: RawEvent): T {
  try {
    return JSON.parse(event.data) as T;
  } catch (cause) {
    throw new ConciergeError('The stream sent an event whose data is not JSON.', { cause });
  }
}

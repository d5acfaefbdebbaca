import { createParser } from 'eventsource-parser';
import { abortError, fullJitter, parseRetryAfter, sleep } from './backoff.js';
import { AbortError, APIError, ConciergeError, NetworkError, RefreshError, TimeoutError } from '../core/errors.js';
import { shouldRetry, type Query, type Transport } from './transport.js';

/** One SSE event as the parser dispatches it (WHATWG HTML §9.2.6: data lines joined with LF). */
export interface RawEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** What the resumable loop yields: a live event, or an item its `onOpen` hook produced (a gap fill). */
export type Item<F> = { kind: 'event'; event: RawEvent } | { kind: 'fill'; value: F };

export interface ResumableOptions<F> {
  transport: Transport;
  path: string;
  query: Query;
  /** The resume point; updated with each event's `id` (the cursor of the last event handed out). */
  state: { lastEventID: string | null };
  /** Fires when the caller aborts (AbortError) or closes the stream (a quiet end). */
  signal: AbortSignal;
  /** The caller's own signal: its abort is an AbortError, any other abort of `signal` a quiet close. */
  callerSignal: AbortSignal | undefined;
  /** The server's heartbeat period; no byte for three of them and the connection is taken as dead. */
  heartbeatMs: number;
  /** Time allowed for a connection's answer head. */
  timeoutMs: number;
  /**
   * Runs after each connection's first bytes (so the server has registered the subscription) and before its
   * events are handed out; what it returns is yielded first. The message streams fill gaps with it.
   */
  onOpen?: ((resumeID: string | null, signal: AbortSignal) => Promise<readonly F[]>) | undefined;
  /** Told when a connection is up (`open`) and when it dropped and the stream is trying again (`reconnecting`). */
  onStatus?: ((status: StreamStatus) => void) | undefined;
}

/** What a UI shows about a live stream: up, or down and being retried. */
export type StreamStatus = 'open' | 'reconnecting';

/** The reconnection time until the server sends `retry:` (WHATWG leaves the default to the user agent). */
const DEFAULT_RETRY_MS = 2000;
/** A drop of a connection that was delivering is reconnected at once, with this much jitter at most. */
const QUICK_RECONNECT_MS = 250;
const MAX_RECONNECT_MS = 30_000;
const IDLE = Symbol('idle');

/**
 * A server-sent event stream that survives drops: it reconnects after a network cut, a clean end (the server
 * ends streams when a token lapses and on shutdown), an idle connection, a 429 or a 5xx, and every time it
 * sends the last event id as `Last-Event-ID`, so the server replays exactly what was missed. On a 401 it renews
 * the credential once per connection attempt. Anything else (403, 404, a 400 for a bad resume point) ends it
 * with the error.
 *
 * Delays: `Retry-After` when the server gave one; a connection that delivered events (or lived at least the
 * `retry:` period) reconnects at once, jittered up to 250 ms: one drop of a healthy link is usually a blip;
 * consecutive failures back off with full jitter whose base is the server's `retry:` (2 s here), capped at 30 s.
 */
export async function* resumable<F>(o: ResumableOptions<F>): AsyncGenerator<Item<F>, void, undefined> {
  let retryMs = DEFAULT_RETRY_MS;
  let failures = 0;
  let waitMs = 0;
  for (;;) {
    try {
      if (waitMs > 0) await sleep(waitMs, o.signal);
    } catch {
      return ended(o);
    }
    waitMs = 0;
    let opened: Awaited<ReturnType<typeof connect>>;
    try {
      opened = await connect(o);
    } catch (error) {
      if (o.signal.aborted) return ended(o);
      if (fatal(error)) throw error;
      o.onStatus?.('reconnecting');
      failures++;
      waitMs =
        (error instanceof APIError ? parseRetryAfter(error.headers.get('retry-after')) : null) ??
        backoff(failures, retryMs);
      continue;
    }

    const { res, controller, release } = opened;
    o.onStatus?.('open');
    const queue: RawEvent[] = [];
    const feed = frameDecoder({
      onEvent: (e) => queue.push(e),
      onRetry: (ms) => (retryMs = ms),
      onIDOnly: (id) => (o.state.lastEventID = id),
    });
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(IDLE), 3 * o.heartbeatMs);
    };
    let first = true;
    let delivered = false;
    const openedAt = Date.now();
    try {
      arm();
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        arm();
        feed(decoder.decode(chunk.value, { stream: true }));
        if (first) {
          first = false;
          if (o.onOpen !== undefined) {
            const fill = await o.onOpen(o.state.lastEventID, controller.signal);
            for (const value of fill) yield { kind: 'fill', value };
          }
        }
        while (queue.length > 0) {
          const event = queue.shift()!;
          // Every event with an id moves the resume point, whether or not the caller wants its type.
          if (event.id !== undefined && event.id !== '') o.state.lastEventID = event.id;
          delivered = true;
          yield { kind: 'event', event };
        }
      }
    } catch (error) {
      if (o.signal.aborted) return ended(o);
      // A cut, a reset, an idle timeout: reconnect. A gap fill that failed for good (403, 404) ends the stream.
      if (fatal(error)) throw error;
    } finally {
      clearTimeout(idle);
      release();
      controller.abort();
    }
    if (!o.signal.aborted) o.onStatus?.('reconnecting');
    // A connection that delivered events, or stayed up for a reconnection period, was healthy: resume at once.
    // One that keeps ending early without events is flapping and backs off like a failed attempt.
    failures = delivered || Date.now() - openedAt >= retryMs ? 0 : failures + 1;
    waitMs = failures === 0 ? Math.random() * QUICK_RECONNECT_MS : backoff(failures, retryMs);
  }
}

export function backoff(failures: number, retryMs = DEFAULT_RETRY_MS): number {
  return fullJitter(failures - 1, Math.max(retryMs, 100), MAX_RECONNECT_MS);
}

/** The end of a stream whose signal fired: the caller's abort is an error, a close is not. */
export function ended(o: { callerSignal: AbortSignal | undefined }): void {
  if (o.callerSignal?.aborted === true) throw abortError(o.callerSignal);
}

/**
 * Errors that end a stream instead of a reconnect: a failed refresh, and an answer that says the same request
 * will not succeed later (401 after the renewal, 403, 404, 400). Everything else (cuts, resets, timeouts, 429,
 * 5xx, an abort of the connection by the idle watchdog) is a drop.
 */
export function fatal(error: unknown): boolean {
  if (error instanceof RefreshError) return true;
  if (error instanceof APIError) return !shouldRetry(error);
  return !(error instanceof ConciergeError)
    ? false
    : !(error instanceof NetworkError || error instanceof TimeoutError || error instanceof AbortError);
}

/** Opens one connection; on a 401 renews the credential once and tries once more. */
async function connect(o: ResumableOptions<unknown>) {
  const { transport } = o;
  const credential = transport.config.credential;
  let bearer = await credential.current(o.signal);
  for (let renewed = false; ; renewed = true) {
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${bearer}` };
    if (o.state.lastEventID !== null) headers['last-event-id'] = o.state.lastEventID;
    const opened = await transport.attempt(
      transport.url(o.path, o.query),
      { method: 'GET', headers },
      o.signal,
      o.timeoutMs,
      false,
    );
    const { res } = opened;
    if (res.ok && res.body !== null) return opened;
    let text = '';
    try {
      text = await res.text();
    } catch {
      // The error body is a courtesy; its status is enough.
    } finally {
      opened.release();
    }
    if (res.ok) throw new NetworkError('The stream answer has no body: this fetch cannot stream.');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const error = APIError.from(res.status, body, res.headers, parseRetryAfter(res.headers.get('retry-after')));
    if (res.status === 401 && !renewed && error.code !== 'API_KEY_INVALID' && error.code !== 'TICKET_INVALID') {
      const next = await credential.renew(bearer, o.signal);
      if (next !== null) {
        bearer = next;
        continue;
      }
    }
    throw error;
  }
}

export interface FrameHandlers {
  onEvent(event: RawEvent): void;
  /** A `retry:` field: the server's reconnection time in milliseconds. */
  onRetry(ms: number): void;
  /** A frame with an `id:` and no `data:`. */
  onIDOnly(id: string): void;
}

/**
 * The text of an event stream, in chunks split anywhere, to events, retries and id-only frames, in stream order.
 * A frame with an `id:` and no data dispatches no event but still sets the last event id (WHATWG); the server
 * starts a live stream with one, so a drop before the first event resumes from there. The parser skips such
 * frames, so they are picked out here. Lines are split here (CRLF, CR or LF, a CRLF possibly split between
 * chunks) and handed to the parser LF-terminated, frame by frame, so an id-only frame is reported in its place
 * between the parser's events.
 */
export function frameDecoder(handlers: FrameHandlers): (text: string) => void {
  const parser = createParser({
    onEvent: (e) => handlers.onEvent({ id: e.id, event: e.event, data: e.data }),
    onRetry: (ms) => handlers.onRetry(ms),
  });
  const lineBreak = /[\r\n]/g;
  let buffer = '';
  let id: string | undefined;
  let data = false;
  return (text) => {
    buffer += text;
    let start = 0;
    let lines = '';
    for (;;) {
      lineBreak.lastIndex = start;
      const at = lineBreak.exec(buffer)?.index;
      // A CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (at === undefined || (buffer[at] === '\r' && at === buffer.length - 1)) break;
      const line = buffer.slice(start, at);
      start = at + (buffer[at] === '\r' && buffer[at + 1] === '\n' ? 2 : 1);
      lines += `${line}\n`;
      if (line === '') {
        parser.feed(lines);
        lines = '';
        if (id !== undefined && !data) handlers.onIDOnly(id);
        id = undefined;
        data = false;
      } else if (line === 'data' || line.startsWith('data:')) data = true;
      else if (line.startsWith('id:')) id = line.slice(line.startsWith('id: ') ? 4 : 3);
    }
    if (lines !== '') parser.feed(lines);
    buffer = buffer.slice(start);
  };
}

import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { GUARD_MS } from './wait.js';

/** One SSE event as it came off the wire. */
export interface WireEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * A raw SSE reader over node:http, written for the tests from the WHATWG parsing rules so it checks the server's
 * bytes rather than trusting a library: it keeps every line (comments included) and every event.
 */
export class RawStream {
  status = 0;
  headers: IncomingMessage['headers'] = {};
  /** Raw text received so far. */
  raw = '';
  events: WireEvent[] = [];
  comments: string[] = [];
  retry: number | undefined;
  ended = false;
  private lastId: string | undefined;
  /** Set when the body arrived as a JSON error instead of a stream. */
  body = '';
  private req: ClientRequest | null = null;
  private res: IncomingMessage | null = null;
  private buffer = '';
  private current: { id?: string; event?: string; data: string[] } = { data: [] };
  private waiters: Array<() => void> = [];
  private readonly listeners = new Set<() => void>();

  static open(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
    const s = new RawStream();
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        s.res = res;
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => s.feed(chunk));
        res.on('end', () => s.finish());
        res.on('error', () => s.finish());
        res.on('close', () => s.finish());
        resolve(s);
      });
      s.req = req;
      req.on('error', (e) => {
        if (s.status === 0) reject(e);
        else s.finish();
      });
      req.end();
    });
  }

  private feed(chunk: string): void {
    this.raw += chunk;
    if (!String(this.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      this.body += chunk;
      this.wake();
      return;
    }
    this.buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      // As a browser does: the id (even of a data-less frame) becomes the last event id; only frames with data
      // are dispatched as events.
      if (this.current.id !== undefined) this.lastId = this.current.id;
      if (this.current.data.length > 0)
        this.events.push({ id: this.current.id, event: this.current.event, data: this.current.data.join('\n') });
      this.current = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.current.data.push(value);
    else if (field === 'id') this.current.id = value;
    else if (field === 'event') this.current.event = value;
    else if (field === 'retry') this.retry = Number(value);
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    for (const f of this.listeners) f();
  }

  /** Calls `listener` after every chunk and at the end, until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits until `check` is true (re-checked on every chunk), or rejects after `ms` (a failure guard). */
  async until(check: () => boolean, ms = GUARD_MS, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; got ${this.events.length} events, ended=${this.ended}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForEvents(n: number, ms = GUARD_MS): Promise<void> {
    return this.until(() => this.events.length >= n, ms, `${n} events`);
  }

  waitForEnd(ms = GUARD_MS): Promise<void> {
    return this.until(() => this.ended, ms, 'end of stream');
  }

  /** Stops reading without closing: the server sees a stalled reader. */
  pause(): void {
    this.res?.pause();
  }

  /** Reads again after `pause()`. */
  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
    this.ended = true;
    this.wake();
  }

  /** The last `id:` received, as EventSource would send it back in Last-Event-ID. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }
}

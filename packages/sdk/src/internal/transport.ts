import { APIError, ConciergeError, NetworkError, TimeoutError } from '../core/errors.js';
import { abortError, fullJitter, parseRetryAfter, sleep } from './backoff.js';
import type { Credential } from './credentials.js';
import { uuid4 } from './ids.js';

/** Per-call options every method takes. */
export interface RequestOptions {
  /** Cancels the call (and any wait between retries): it rejects with AbortError. */
  signal?: AbortSignal | undefined;
  /** Per attempt; default the client's `timeoutMs`. */
  timeoutMs?: number | undefined;
  /** Default the client's `maxRetries`. */
  maxRetries?: number | undefined;
}

/** Options of a write: the caller may bring the Idempotency-Key (say, one stored with an outbox entry). */
export interface WriteOptions extends RequestOptions {
  idempotencyKey?: string | undefined;
}

export interface TransportConfig {
  baseURL: string;
  credential: Credential;
  maxRetries: number;
  timeoutMs: number;
  fetch: typeof fetch;
}

export type Query = Record<string, string | number | undefined>;

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query | undefined;
  body?: unknown;
  /**
   * `false` sends no bearer and never renews on a 401: the agent sign-in routes, which a cookie or the body
   * authenticates (an agent's refresh must not wait on the credential it is refreshing).
   */
  auth?: false | undefined;
  /** Sends this bearer and never renews it on a 401 (an agent's org switch: the session it ends is the one sent). */
  bearer?: string | undefined;
}

export interface Answer<T> {
  data: T;
  status: number;
  headers: Headers;
  requestID: string | null;
  /** The server replayed the stored answer of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/** Why an attempt's own controller fired: the per-attempt timer, as opposed to the caller's signal. */
const TIMED_OUT = Symbol('timeout');

/** 401 codes a refresh cannot cure: they are about another credential than the member token. */
const NOT_REFRESHABLE = new Set(['API_KEY_INVALID', 'TICKET_INVALID']);

/**
 * The one retry policy (docs/STYLE.md, pattern 9). Each call:
 * - gets one Idempotency-Key when it is a POST, reused on every retry and on the re-send after a refresh;
 * - retries network failures, timeouts, 429 and 5xx (and what the server marks `retryable`, such as a 409
 *   IDEMPOTENCY_KEY_IN_USE) up to `maxRetries` times, waiting `Retry-After` when given and full jitter otherwise;
 *   `x-should-retry` overrides all of that either way;
 * - on a 401 renews the credential once and re-sends once, outside the `maxRetries` budget.
 */
export class Transport {
  constructor(readonly config: TransportConfig) {}

  url(path: string, query?: Query): string {
    const base = this.config.baseURL.replace(/\/+$/, '');
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${base}${path}${qs === '' ? '' : `?${qs}`}`;
  }

  async request<T>(call: Call, options: WriteOptions = {}): Promise<Answer<T>> {
    const maxRetries = options.maxRetries ?? this.config.maxRetries;
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    const signal = options.signal;
    const key = call.method === 'POST' ? (options.idempotencyKey ?? uuid4()) : undefined;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = key;
    let body: string | null = null;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    const url = this.url(call.path, call.query);
    let retries = 0;
    let renewed = false;
    const anonymous = call.auth === false;
    const fixed = call.bearer !== undefined;
    let bearer = anonymous ? '' : (call.bearer ?? (await this.config.credential.current(signal)));
    for (;;) {
      let res: Response;
      let text: string;
      try {
        const init = {
          method: call.method,
          headers: anonymous ? headers : { ...headers, authorization: `Bearer ${bearer}` },
          body,
        };
        ({ res, text } = await this.attempt(url, init, signal, timeoutMs, true));
      } catch (error) {
        if (!(error instanceof NetworkError || error instanceof TimeoutError) || retries >= maxRetries) throw error;
        await sleep(fullJitter(retries), signal);
        retries++;
        continue;
      }
      if (res.ok) {
        try {
          return {
            data: JSON.parse(text) as T,
            status: res.status,
            headers: res.headers,
            requestID: res.headers.get('x-request-id'),
            replayed: res.headers.get('idempotent-replayed') === 'true',
          };
        } catch (cause) {
          // A 2xx that is not JSON came from something between us and the server (a proxy, a captive portal).
          const error = new NetworkError(`The ${res.status} answer is not JSON.`, { cause });
          if (retries >= maxRetries) throw error;
          await sleep(fullJitter(retries), signal);
          retries++;
          continue;
        }
      }
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      const error = APIError.from(res.status, parseJSON(text), res.headers, retryAfterMs);
      if (res.status === 401 && !anonymous && !fixed && !renewed && !NOT_REFRESHABLE.has(error.code)) {
        const next = await this.config.credential.renew(bearer, signal);
        if (next !== null) {
          renewed = true;
          bearer = next;
          continue;
        }
      }
      if (retries >= maxRetries || !shouldRetry(error)) throw error;
      await sleep(retryAfterMs ?? fullJitter(retries), signal);
      retries++;
      if (!anonymous && !fixed) bearer = await this.config.credential.current(signal);
    }
  }

  /**
   * One fetch under a timeout and the caller's signal. With `readBody` the body is read inside the same timeout,
   * so a connection cut mid-body is a NetworkError here (and retried), not a half answer. Without it (streams),
   * the timeout covers the answer's head only.
   */
  async attempt(
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    readBody: boolean,
  ): Promise<{ res: Response; text: string; controller: AbortController; release: () => void }> {
    if (signal?.aborted === true) throw abortError(signal);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = () => signal?.removeEventListener('abort', onAbort);
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    let ok = false;
    try {
      const res = await this.config.fetch(url, { ...init, signal: controller.signal });
      const text = readBody ? await res.text() : '';
      ok = true;
      return { res, text, controller, release };
    } catch (cause) {
      if (controller.signal.reason === TIMED_OUT)
        throw new TimeoutError(`No answer within ${timeoutMs} ms.`, { cause });
      // Read afresh: TypeScript keeps the narrowing from the check above across the await.
      if (aborted(signal)) throw abortError(signal!);
      if (cause instanceof ConciergeError) throw cause;
      throw new NetworkError(`The request failed: ${describe(cause)}`, { cause });
    } finally {
      clearTimeout(timer);
      // A stream keeps the caller's signal tied to its controller while it reads the body (it calls `release`
      // when done); a plain call, or a failed one, is done with it here.
      if (readBody || !ok) release();
    }
  }
}

/** `x-should-retry` wins; then 429 and 5xx; then the envelope's own `retryable` (IDEMPOTENCY_KEY_IN_USE). */
export function shouldRetry(error: APIError): boolean {
  const hint = error.headers.get('x-should-retry');
  if (hint === 'true') return true;
  if (hint === 'false') return false;
  if (error.status === 429 || error.status >= 500) return true;
  return error.retryable;
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}

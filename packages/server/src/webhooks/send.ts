import { Agent, type Dispatcher } from 'undici';
import { AddressRefused, guardedLookup, literalAddress, refusedAddress } from './address-policy.js';

/** At most this much of a receiver's answer is read (and stored); the rest is never read from the socket. */
export const RESPONSE_LIMIT = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  /** Why there is no status code (or why the body was cut short): timeout, refused, reset, … */
  error: string | null;
  responseBody: string | null;
  latencyMs: number;
  /**
   * Set only when the attempt failed because our own code threw (its `error` then says where): the thrown error's
   * stack, for the log. Such a failure is retried like any other, and fails that one delivery only.
   */
  internal?: string;
}

/** The result of an attempt that threw before or while it was made: that delivery fails, nothing else does. */
export function faulted(where: string, error: unknown): SendResult {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    statusCode: null,
    error: `${where}: ${e.message}`,
    responseBody: null,
    latencyMs: 0,
    internal: e.stack ?? e.message,
  };
}

/** An attempt that failed before any request was made. */
const unsent = (error: string): Promise<SendResult> =>
  Promise.resolve({ statusCode: null, error, responseBody: null, latencyMs: 0 });

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

/** What a failed request's error says, in the terms `lastError` documents (docs/webhooks.md). */
function describe(error: unknown): string {
  if (error instanceof AddressRefused) return `address refused: ${error.message}`;
  const e = error as Error & { code?: string; cause?: unknown };
  if (e.cause instanceof AddressRefused) return `address refused: ${e.cause.message}`;
  // undici's "other side closed": the receiver ended the connection without a whole answer.
  if (e.code === 'UND_ERR_SOCKET') return 'ECONNRESET';
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code;
  return code !== undefined && !code.startsWith('UND_ERR_') ? code : e.message;
}

/**
 * One POST to a receiver, bounded in every way a receiver could stretch it: one deadline for the whole exchange
 * (headers and body), at most RESPONSE_LIMIT bytes of answer read, redirects never followed (a 3xx is an answer
 * like any other non-2xx), and the address checked at connect time unless private addresses are allowed. It never
 * throws: every failure is a result.
 *
 * undici's `dispatch`, not node:http's client nor undici's `request`: the delivery benchmark's 10,000 requests a
 * second cost about 100 µs of CPU each through node:http or through `request` with an AbortSignal for the deadline,
 * and about 52 µs through `dispatch`, whose controller aborts without a signal (a loop of 80,000 deliveries to 8
 * local receivers, 16 in flight each), and those requests are most of what delivering costs. `dispatch` follows no
 * redirect: that takes an interceptor, which this agent does not have.
 */
export class Sender {
  private readonly agent: Agent;

  constructor(private readonly options: SendOptions) {
    this.agent = new Agent({
      // The whole exchange has our own deadline (below); undici's are only a backstop.
      headersTimeout: options.timeoutMs + 1000,
      bodyTimeout: options.timeoutMs + 1000,
      ...(!options.allowPrivate && { connect: { lookup: guardedLookup } }),
    });
  }

  post(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return unsent('invalid URL');
    }
    const literal = literalAddress(target.hostname);
    // A literal address skips the lookup, so it is checked here, by the same rule.
    const why = this.options.allowPrivate || literal === null ? null : refusedAddress(literal);
    if (why !== null) return unsent(`address refused: ${why}`);
    const started = performance.now();
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let statusCode: number | null = null;
      let controller: Dispatcher.DispatchController | null = null;
      const chunks: Buffer[] = [];
      let length = 0;
      // The deadline before `finish`, which clears it (a timer's callback never runs before this function returns).
      const timer = setTimeout(() => {
        finish(statusCode === null ? 'timeout' : 'timeout reading the answer');
        controller?.abort(new Error('timeout'));
      }, this.options.timeoutMs);
      const elapsed = () => Math.round(performance.now() - started);
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = length === 0 && statusCode === null ? null : Buffer.concat(chunks).toString('utf8');
        // PostgreSQL text cannot hold NUL; the stored copy is for people to read.
        // eslint-disable-next-line no-control-regex -- replacing NUL is the point
        resolve({ statusCode, error, responseBody: text?.replace(/\u0000/g, '\ufffd') ?? null, latencyMs: elapsed() });
      };
      this.agent.dispatch(
        { origin: target.origin, path: target.pathname + target.search, method: 'POST', headers, body },
        {
          onRequestStart: (c) => {
            controller = c;
            // The deadline passed while the request waited for a connection.
            if (settled) c.abort(new Error('timeout'));
          },
          onResponseStart: (_c, status) => {
            statusCode = status;
          },
          onResponseData: (c, chunk) => {
            const room = RESPONSE_LIMIT - length;
            if (room > 0) {
              chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
              length += Math.min(room, chunk.length);
            }
            if (length >= RESPONSE_LIMIT) {
              // Enough: the rest is never read, and the connection is not reused.
              finish(null);
              c.abort(new Error('answer too long'));
            }
          },
          onResponseEnd: () => finish(null),
          // Before an answer, the request failed; during one, the answer so far is what there is.
          onResponseError: (_c, error) => finish(statusCode === null ? describe(error) : null),
        },
      );
    });
  }

  close(): void {
    void this.agent.destroy();
  }
}

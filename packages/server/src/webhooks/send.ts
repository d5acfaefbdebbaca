import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AddressRefused, forbiddenAddress, guardedLookup, literalAddress } from './address-policy.js';

/** At most this much of a receiver's answer is read (and stored); the rest is never read from the socket. */
export const RESPONSE_LIMIT = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  /** Why there is no status code (or why the body was cut short): timeout, refused, reset, … */
  error: string | null;
  responseBody: string | null;
  latencyMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

/**
 * One POST to a receiver, bounded in every way a receiver could stretch it: one deadline for the whole exchange
 * (headers and body), at most RESPONSE_LIMIT bytes of answer read, redirects never followed (a 3xx is an answer
 * like any other non-2xx), and the address checked at connect time unless private addresses are allowed. It never
 * throws: every failure is a result.
 */
export class Sender {
  private readonly http = new HttpAgent({ keepAlive: true, maxFreeSockets: 16 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxFreeSockets: 16 });

  constructor(private readonly options: SendOptions) {}

  post(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let statusCode: number | null = null;
      const chunks: Buffer[] = [];
      let length = 0;
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = length === 0 && statusCode === null ? null : Buffer.concat(chunks).toString('utf8');
        // PostgreSQL text cannot hold NUL; the stored copy is for people to read.
        // eslint-disable-next-line no-control-regex -- replacing NUL is the point
        resolve({ statusCode, error, responseBody: text?.replace(/\u0000/g, '\ufffd') ?? null, latencyMs: elapsed() });
      };
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        finish('invalid URL');
        return;
      }
      const literal = literalAddress(target.hostname);
      // A literal address skips the lookup, so it is checked here.
      if (!this.options.allowPrivate && literal !== null && forbiddenAddress(literal)) {
        finish(`address refused: ${literal} is a private or reserved address`);
        return;
      }
      const secure = target.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ...(!this.options.allowPrivate && { lookup: guardedLookup }),
      });
      const timer = setTimeout(() => {
        finish(statusCode === null ? 'timeout' : 'timeout reading the answer');
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (error: Error & { code?: string }) => {
        finish(error instanceof AddressRefused ? `address refused: ${error.message}` : (error.code ?? error.message));
      });
      req.on('response', (res: IncomingMessage) => {
        statusCode = res.statusCode ?? null;
        res.on('data', (chunk: Buffer) => {
          const room = RESPONSE_LIMIT - length;
          if (room > 0) {
            chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
            length += Math.min(room, chunk.length);
          }
          if (length >= RESPONSE_LIMIT) {
            // Enough: the rest is never read, and the connection is not reused.
            finish(null);
            res.destroy();
          }
        });
        res.on('end', () => finish(null));
        res.on('error', () => finish(null));
        res.on('close', () => finish(null));
      });
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

import { RawStream } from './sse-client.js';
import { Changes, GUARD_MS } from './wait.js';

/** Where an SDK gets the credential for a call, and a fresh one after a 401 (none for a server key). */
export interface HostedCredential {
  current(): Promise<string>;
  refresh?(): Promise<string>;
}

/**
 * The refresh contract of the hosted API's official SDKs (shared/contract/wire-contract.md, "Credentials"): the
 * app's hook (here `POST /v1/auth/exchange` with the Org-API-Key, as the app's backend does) is called when there is
 * no token or it expires within 30 s, and once more after a 401.
 */
export class HostedTokenSource implements HostedCredential {
  refreshes = 0;
  private token: string | null = null;
  private expiresAt = 0;

  constructor(private readonly hook: () => Promise<{ accessToken: string; expiresAt: string }>) {}

  async current(): Promise<string> {
    if (this.token === null || this.expiresAt - Date.now() < 30_000) return this.refresh();
    return this.token;
  }

  async refresh(): Promise<string> {
    const t = await this.hook();
    this.refreshes++;
    this.token = t.accessToken;
    this.expiresAt = Date.parse(t.expiresAt);
    return t.accessToken;
  }
}

export interface HostedStreamOptions {
  /** The server the n-th connection attempt goes to (as a load balancer picks one). */
  base: (attempt: number) => string;
  /** `/v1/conversations/{id}/stream`, with no query: the SDKs send no `externalUserID` here. */
  path: string;
  credential: HostedCredential;
  /**
   * What happens between the end of the n-th stream (1-based) and the reconnect: the SDKs reconnect within about 0
   * to 500 ms. Default: at once.
   */
  reconnectAfter?: (end: number) => Promise<void>;
}

/**
 * `streamMessages` of the hosted API's official SDKs 0.7.1 as they behave on the wire (shared/contract/
 * wire-contract.md, "The stream"), recorded here rather than their code:
 *
 * - `GET <path>` with `Authorization: Bearer`, `Accept: text/event-stream` and a `User-Agent`; never
 *   `Last-Event-ID`, never `?after=`, never `externalUserID`;
 * - every `data:` is parsed as a Message (one that is not JSON stops the stream for good); `event:`, `id:`,
 *   `retry:` and comments are ignored;
 * - after a clean end (or a drop) it takes a credential (refreshing a token that is about to expire) and
 *   reconnects within about 0 to 500 ms; a 401 refreshes once and retries once; 429, 5xx and refused connections
 *   are retried with full-jitter backoff; 403, 404 and other 4xx stop it.
 *
 * Received message ids are kept in arrival order, so a test can check "every message exactly once".
 */
export class HostedStreamClient {
  /** Message ids in the order they arrived, repeats included. */
  readonly received: string[] = [];
  /** Connections that got as far as streaming. */
  connections = 0;
  /** Streams that ended while the client was running. */
  ends = 0;
  /** The status that stopped the client (403, 404, …), if one did. */
  stoppedWith: number | null = null;
  private current: RawStream | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly changes = new Changes();

  constructor(private readonly options: HostedStreamOptions) {}

  /** Starts the loop; resolves once the first connection is streaming. */
  async start(): Promise<void> {
    this.loop = this.run().finally(() => this.changes.notify());
    await this.until(() => this.connections > 0 || this.stoppedWith !== null, 'the first connection');
  }

  /** Resolves once `check()` holds; rejects after `ms` (a failure guard, not a timing assertion). */
  until(check: () => boolean, what: string, ms = GUARD_MS): Promise<void> {
    return this.changes.until(check, `${what} (${this.received.length} received, ${this.ends} ends)`, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let failures = 0;
    let refreshed = false;
    while (!this.stopped) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await this.options.credential.current()}`,
        accept: 'text/event-stream',
        'user-agent': 'expys-typescript/0.7.1',
      };
      let s: RawStream;
      try {
        s = await RawStream.open(`${this.options.base(attempt++)}${this.options.path}`, headers);
      } catch {
        await backoff(failures++);
        continue;
      }
      if (s.status === 401 && !refreshed && this.options.credential.refresh !== undefined) {
        refreshed = true;
        await this.options.credential.refresh();
        continue;
      }
      if (s.status === 429 || s.status >= 500) {
        await backoff(failures++);
        continue;
      }
      if (s.status !== 200) {
        this.stoppedWith = s.status;
        this.changes.notify();
        return;
      }
      refreshed = false;
      failures = 0;
      this.current = s;
      this.connections++;
      this.changes.notify();
      const clean = await this.read(s);
      this.current = null;
      if (this.stopped) return;
      if (!clean) {
        this.stoppedWith = 0;
        this.changes.notify();
        return;
      }
      this.ends++;
      this.changes.notify();
      await (this.options.reconnectAfter?.(this.ends) ?? Promise.resolve());
    }
  }

  /** Reads one connection to its end; false if a `data:` was not a Message (the SDKs stop for good then). */
  private read(s: RawStream): Promise<boolean> {
    let seen = 0;
    return new Promise((resolve) => {
      const onChange = () => {
        for (; seen < s.events.length; seen++) {
          let message: { id?: unknown };
          try {
            message = JSON.parse(s.events[seen]!.data) as { id?: unknown };
          } catch {
            off();
            s.close();
            resolve(false);
            return;
          }
          if (typeof message.id === 'string') this.received.push(message.id);
        }
        this.changes.notify();
        if (s.ended) {
          off();
          resolve(true);
        }
      };
      const off = s.onChange(onChange);
      onChange();
    });
  }
}

/** Full jitter: random(0, min(10 s, 500 ms × 2^attempt)), as the SDKs wait between failed attempts. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(10_000, 500 * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}

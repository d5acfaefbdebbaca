import { Concierge, type ConciergeOptions } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { Api, GUARD_MS, until, withServer, type StoreTarget, type TestServer } from '@concierge/tests/harness';
import { FaultProxy } from './fault-proxy.js';

/**
 * One real server (through the CLI, on a fresh database of `store`) with a fault proxy in front of it. Clients
 * built here talk through the proxy; `api` talks to the server directly, to check what really happened.
 */
export interface Fixture {
  server: TestServer;
  proxy: FaultProxy;
  api: Api;
  /** The server client, through the proxy. */
  admin: ConciergeServer;
  /** A member token minted directly (not through the proxy). */
  token(externalUserID: string): Promise<{ accessToken: string; expiresAt: string }>;
  /** A member client through the proxy, for a fresh token of `externalUserID`. */
  member(externalUserID: string, options?: Partial<ConciergeOptions>): Promise<Concierge>;
  close(): Promise<void>;
}

export async function startFixture(store: StoreTarget, args: string[] = []): Promise<Fixture> {
  const { server, close } = await withServer(store, { args: ['--rate-limit', '0', ...args] });
  const proxy = await FaultProxy.start(server.url);
  const direct = new ConciergeServer({ baseURL: server.url, apiKey: server.org.apiKey });
  const token = (externalUserID: string) => direct.exchangeToken({ externalUserID });
  return {
    server,
    proxy,
    api: new Api(server.url),
    admin: new ConciergeServer({ baseURL: proxy.url, apiKey: server.org.apiKey }),
    token,
    async member(externalUserID, options = {}) {
      const t = await token(externalUserID);
      return new Concierge({ baseURL: proxy.url, token: t.accessToken, tokenExpiresAt: t.expiresAt, ...options });
    },
    async close() {
      await proxy.close();
      await close();
    },
  };
}

/** Re-checks `check` until it holds, failing after a generous guard (not a timing assertion). */
export { until };

/** Collects `n` items from an async iterable (then stops it), failing after `ms`. */
export async function take<T>(iterable: AsyncIterable<T>, n: number, ms = GUARD_MS): Promise<T[]> {
  const out: T[] = [];
  if (n === 0) return out;
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => {
      // Stop the stream so the failing test does not leave a connection holding the process open.
      void (iterable as Partial<AsyncIterator<T>>).return?.();
      reject(new Error(`got ${out.length} of ${n} items`));
    }, ms).unref(),
  );
  const run = (async () => {
    for await (const item of iterable) {
      out.push(item);
      if (out.length >= n) break;
    }
    return out;
  })();
  return Promise.race([run, timer]);
}

/** `promise`, or a failure naming `what` after `ms` (a bound on the wait, not a timing assertion). */
export async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what()}`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

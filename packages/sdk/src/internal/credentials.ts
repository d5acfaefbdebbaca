import { RefreshError } from '../core/errors.js';
import { raceAbort } from './backoff.js';

/** What a refresh hook may return: the token alone, or the exchange answer (`{accessToken, expiresAt}`) as is. */
export type RefreshResult = string | { accessToken: string; expiresAt?: string | number | Date | null | undefined };

export type RefreshHook = () => Promise<RefreshResult> | RefreshResult;

/** The bearer a transport sends, and how it recovers from a 401. */
export interface Credential {
  /** The bearer to send now (after a proactive refresh, when one is due). */
  current(signal?: AbortSignal | null): Promise<string>;
  /**
   * Called on a 401 for a request sent with `used`. Resolves the bearer to retry with, or null when there is
   * nothing to retry with (no hook). Throws RefreshError when the hook fails.
   */
  renew(used: string, signal?: AbortSignal | null): Promise<string | null>;
}

/** The Org-API-Key: fixed, nothing to refresh. */
export class StaticCredential implements Credential {
  constructor(private readonly secret: string) {}

  async current(): Promise<string> {
    return this.secret;
  }

  async renew(): Promise<null> {
    return null;
  }
}

function toEpochMs(value: string | number | Date | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * A member token with the refresh contract (wire contract, "Credentials"): refresh `skewMs` before the known
 * expiry; on a 401 refresh once; concurrent callers share one in-flight refresh (single-flight), and a 401 for a
 * token that was already replaced just retries with the new one instead of refreshing again. A failed refresh is
 * a RefreshError for everyone waiting on it, never retried here.
 */
export class TokenCredential implements Credential {
  private token: string;
  private expiresAt: number | null;
  private inFlight: Promise<string> | null = null;

  constructor(
    token: string,
    expiresAt: string | number | Date | null | undefined,
    private readonly hook: RefreshHook | undefined,
    private readonly skewMs: number,
  ) {
    this.token = token;
    this.expiresAt = toEpochMs(expiresAt);
  }

  set(token: string, expiresAt?: string | number | Date | null): void {
    this.token = token;
    this.expiresAt = toEpochMs(expiresAt);
  }

  async current(signal?: AbortSignal | null): Promise<string> {
    if (this.inFlight !== null) return raceAbort(this.inFlight, signal);
    if (this.hook !== undefined && this.expiresAt !== null && Date.now() >= this.expiresAt - this.skewMs)
      return raceAbort(this.refresh(), signal);
    return this.token;
  }

  async renew(used: string, signal?: AbortSignal | null): Promise<string | null> {
    if (this.hook === undefined) return null;
    if (this.inFlight !== null) return raceAbort(this.inFlight, signal);
    if (used !== this.token) return this.token;
    return raceAbort(this.refresh(), signal);
  }

  private refresh(): Promise<string> {
    const hook = this.hook!;
    this.inFlight ??= (async () => {
      let result: RefreshResult;
      try {
        result = await hook();
      } catch (error) {
        throw new RefreshError('The token refresh hook failed.', { cause: error });
      }
      const token = typeof result === 'string' ? result : result?.accessToken;
      if (typeof token !== 'string' || token === '')
        throw new RefreshError('The token refresh hook returned no token.', { cause: result });
      this.set(token, typeof result === 'string' ? null : result.expiresAt);
      return token;
    })().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }
}

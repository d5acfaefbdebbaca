/**
 * A thin HTTP client for black-box tests: real fetch against the real server, no SDK (the SDK has its own
 * suite), so these tests see exactly what goes over the wire.
 */
export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export class Api {
  constructor(readonly baseURL: string) {}

  async call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<CallResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const url = new URL(path, this.baseURL);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const res = await fetch(url, { method, headers, ...(body !== undefined && { body }) });
    const text = await res.text();
    let json: any = undefined;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get = <T = any>(path: string, o?: CallOptions) => this.call<T>('GET', path, o);
  post = <T = any>(path: string, o?: CallOptions) => this.call<T>('POST', path, o);
  put = <T = any>(path: string, o?: CallOptions) => this.call<T>('PUT', path, o);
  delete = <T = any>(path: string, o?: CallOptions) => this.call<T>('DELETE', path, o);
  patch = <T = any>(path: string, o?: CallOptions) => this.call<T>('PATCH', path, o);

  /** Exchanges the org key for a member token. */
  async memberToken(apiKey: string, externalUserID: string, profile: Record<string, string> = {}): Promise<string> {
    const r = await this.post('/v1/auth/exchange', { token: apiKey, body: { externalUserID, ...profile } });
    if (r.status !== 200) throw new Error(`exchange failed: ${r.status} ${r.text}`);
    return r.json.accessToken as string;
  }

  async openConversation(token: string, body: Record<string, unknown> = {}): Promise<string> {
    const r = await this.post('/v1/conversations', { token, body });
    if (r.status !== 201) throw new Error(`open conversation failed: ${r.status} ${r.text}`);
    return r.json.id as string;
  }

  /**
   * Every message id of a conversation, oldest first, paged through as a client does. `externalUserID` names the
   * member when `token` is the Org-API-Key.
   */
  async history(token: string, conversationID: string, externalUserID?: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const r: CallResult = await this.get(`/v1/conversations/${encodeURIComponent(conversationID)}/messages`, {
        token,
        query: {
          limit: '100',
          ...(externalUserID !== undefined && { externalUserID }),
          ...(cursor !== null && { cursor }),
        },
      });
      if (r.status !== 200) throw new Error(`history: ${r.status} ${r.text}`);
      out.push(...(r.json.messages as Array<{ id: string }>).map((m) => m.id));
      cursor = r.json.nextCursor as string | null;
      if (cursor === null) break;
    }
    return out.reverse();
  }

  async send(token: string, conversationID: string, message: string, headers: Record<string, string> = {}) {
    return this.post(`/v1/conversations/${encodeURIComponent(conversationID)}/messages`, {
      token,
      body: { message },
      headers,
    });
  }
}

/** Asserts the contract's envelope and returns the code. */
export function errorCode(r: CallResult): string {
  const e = r.json?.error;
  if (e === undefined || typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.requestID !== 'string')
    throw new Error(`not an error envelope (${r.status}): ${r.text}`);
  return e.code as string;
}

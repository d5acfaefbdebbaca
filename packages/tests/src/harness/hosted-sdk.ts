import { randomUUID } from 'node:crypto';

/**
 * What the hosted API's official TypeScript SDK puts on the wire for its server-only calls, and nothing else
 * (shared/contract/wire-contract.md, "Credentials" and "How the hosted API's SDKs tell a server key…"):
 *
 * - it takes the credential for a server key only if it starts with `expys_`, and refuses a server-only call
 *   before any request otherwise;
 * - `Authorization: Bearer <key>`, `Accept: application/json`, a `User-Agent`, and `Content-Type: application/json`
 *   only when there is a body (always `JSON.stringify`);
 * - a UUID v4 `Idempotency-Key` on every POST, none on PUT and DELETE;
 * - path ids through `encodeURIComponent`.
 *
 * Black-box suites drive the server with it to prove a backend written against that SDK runs unchanged.
 */
export class HostedSDKClient {
  /** Every request sent, as sent, so a test can show what crossed the wire. */
  readonly sent: Array<{ method: string; path: string; headers: Record<string, string>; body: string | null }> = [];

  constructor(
    private readonly baseURL: string,
    private readonly credential: string,
  ) {}

  exchangeToken(params: { externalUserID: string; displayName?: string; email?: string; tier?: string }) {
    return this.server<{ accessToken: string; expiresAt: string }>('POST', '/v1/auth/exchange', params);
  }

  getMember(externalUserID: string) {
    return this.server<Record<string, unknown>>('GET', `/v1/members/${encodeURIComponent(externalUserID)}`);
  }

  setMember(
    externalUserID: string,
    profile: { displayName?: string; email?: string; tier?: string; attributes?: Record<string, unknown> },
  ) {
    return this.server<Record<string, unknown>>('PUT', `/v1/members/${encodeURIComponent(externalUserID)}`, profile);
  }

  /** `GET /v1/members`, the query built with URLSearchParams from the options given (none when none are). */
  listMembers(params: { limit?: number; cursor?: string } = {}) {
    const query = new URLSearchParams();
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    if (params.cursor !== undefined) query.set('cursor', params.cursor);
    const qs = query.toString();
    return this.server<{
      members: Array<Record<string, unknown> & { externalUserID: string }>;
      nextCursor: string | null;
    }>('GET', `/v1/members${qs === '' ? '' : `?${qs}`}`);
  }

  /** Offboards: `DELETE`, with `?retainBalance=true|false` only when the option is given. */
  removeMember(externalUserID: string, options: { retainBalance?: boolean } = {}) {
    const qs = options.retainBalance === undefined ? '' : `?retainBalance=${String(options.retainBalance)}`;
    return this.server<Record<string, unknown>>('DELETE', `/v1/members/${encodeURIComponent(externalUserID)}${qs}`);
  }

  createWebhook(params: { events: string[]; url: string }) {
    return this.server<Record<string, unknown>>('POST', '/v1/webhooks', params);
  }

  listWebhooks() {
    return this.server<{ data: Array<Record<string, unknown>> }>('GET', '/v1/webhooks');
  }

  deleteWebhook(id: string) {
    return this.server<{ id: string; ok: boolean }>('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`);
  }

  private async server<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; headers: Headers; json: T }> {
    if (!this.credential.startsWith('expys_'))
      throw new Error('This method needs a server key (expys_…); the configured credential is not one.');
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.credential}`,
      accept: 'application/json',
      'user-agent': 'expys-typescript/1.0.0',
    };
    let text: string | null = null;
    if (body !== undefined) {
      text = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    if (method === 'POST') headers['idempotency-key'] = randomUUID();
    this.sent.push({ method, path, headers, body: text });
    const res = await fetch(new URL(path, this.baseURL), { method, headers, body: text });
    const answer = await res.text();
    return { status: res.status, headers: res.headers, json: JSON.parse(answer) as T };
  }
}

// Setup calls against our server over its public API, as an org's backend and a member's app make them.
import { randomUUID } from 'node:crypto';

export class Api {
  constructor(baseURL) {
    this.baseURL = baseURL;
  }

  async call(method, path, { token, body, headers = {} } = {}) {
    const h = { accept: 'application/json', ...headers };
    if (token !== undefined) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    if (method === 'POST') h['idempotency-key'] ??= randomUUID();
    const res = await fetch(new URL(path, this.baseURL), {
      method,
      headers: h,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  /** A member token for `externalUserID` (the member is created on first exchange). */
  async memberToken(apiKey, externalUserID) {
    const r = await this.call('POST', '/v1/auth/exchange', { token: apiKey, body: { externalUserID } });
    return r.accessToken;
  }

  async openConversation(token) {
    const r = await this.call('POST', '/v1/conversations', { token, body: { title: 'bench' } });
    return r.id;
  }

  async send(token, conversationID, message) {
    return this.call('POST', `/v1/conversations/${encodeURIComponent(conversationID)}/messages`, {
      token,
      body: { message },
    });
  }

  /** `count` members, each with a token and one conversation, `concurrency` at a time. */
  async members(apiKey, count, prefix = 'bench-member', concurrency = 20) {
    const out = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const token = await this.memberToken(apiKey, `${prefix}-${i}`);
        out[i] = { token, conversationID: await this.openConversation(token) };
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return out;
  }
}

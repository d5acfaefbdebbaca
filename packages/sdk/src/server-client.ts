import { ClientCore, type BaseOptions, type SendOptions, type SendResult } from './client.js';
import { ConciergeError } from './core/errors.js';
import type { MessagePages } from './core/pagination.js';
import type { LiveStream, StreamOptions } from './core/streams.js';
import type {
  Conversation,
  ExchangeResponse,
  ListConversationsResponse,
  MarkReadResponse,
  Member,
  Message,
  StreamEvent,
} from '@concierge/protocol';
import { StaticCredential } from './internal/credentials.js';
import { path } from './internal/ids.js';
import type { RequestOptions, WriteOptions } from './internal/transport.js';

export interface ConciergeServerOptions extends BaseOptions {
  /**
   * The Org-API-Key (`ck_live_…`, or `expys_live_…` made with `keys create --prefix`). A secret of the org's
   * backend: it must never reach a browser or an app.
   */
  apiKey: string;
  /**
   * Lets the server client run where a browser global exists (an Electron main process, a test). Anyone who can
   * open the page can read the key.
   */
  dangerouslyAllowBrowser?: boolean | undefined;
}

export interface MemberProfile {
  displayName?: string | undefined;
  email?: string | undefined;
  tier?: string | undefined;
}

/** A member-mode call made by the org's backend names the member it acts for. */
export interface ForMember {
  externalUserID: string;
}

function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; importScripts?: unknown };
  return typeof g.document !== 'undefined' || typeof g.importScripts === 'function';
}

function definedOnly(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * The server client: the org's backend with its Org-API-Key. It mints member tokens, administers members, and
 * acts as the concierge (or on a member's behalf) in any conversation of the org.
 */
export class ConciergeServer extends ClientCore {
  constructor(options: ConciergeServerOptions) {
    if (inBrowser() && options.dangerouslyAllowBrowser !== true)
      throw new ConciergeError(
        'ConciergeServer holds the Org-API-Key and refuses to run in a browser. Use `Concierge` with a member token ' +
          'there, or pass `dangerouslyAllowBrowser: true` if this environment is not a public page.',
      );
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new ConciergeError('`apiKey` is required.');
    super(options, new StaticCredential(options.apiKey));
  }

  /** Trades the Org-API-Key for a member token (and creates or updates the member's profile). */
  async exchangeToken(params: ForMember & MemberProfile & WriteOptions): Promise<ExchangeResponse> {
    const { externalUserID, displayName, email, tier } = params;
    const body = definedOnly({ externalUserID, displayName, email, tier });
    return (await this.transport.request<ExchangeResponse>({ method: 'POST', path: '/v1/auth/exchange', body }, params))
      .data;
  }

  getMember(externalUserID: string, options: RequestOptions = {}): Promise<Member> {
    return this.get(path`/v1/members/${externalUserID}`, {}, options);
  }

  /** Creates the member or replaces their profile (PUT: idempotent by itself). */
  async setMember(externalUserID: string, profile: MemberProfile & RequestOptions = {}): Promise<Member> {
    const body = definedOnly({ displayName: profile.displayName, email: profile.email, tier: profile.tier });
    return (
      await this.transport.request<Member>({ method: 'PUT', path: path`/v1/members/${externalUserID}`, body }, profile)
    ).data;
  }

  /** Removes the member, their conversations, and every token they hold. */
  async removeMember(externalUserID: string, options: RequestOptions = {}): Promise<{ ok: boolean; deleted: boolean }> {
    return (
      await this.transport.request<{ ok: boolean; deleted: boolean }>(
        { method: 'DELETE', path: path`/v1/members/${externalUserID}` },
        options,
      )
    ).data;
  }

  /** Invalidates every token the member holds now; their open streams end at once. */
  async revokeTokens(externalUserID: string, options: WriteOptions = {}): Promise<{ ok: boolean; revokedAt: string }> {
    const call = { method: 'POST', path: path`/v1/members/${externalUserID}/revoke-tokens` } as const;
    return (await this.transport.request<{ ok: boolean; revokedAt: string }>(call, options)).data;
  }

  listConversations(params: ForMember & RequestOptions): Promise<ListConversationsResponse> {
    return this.get('/v1/conversations', { externalUserID: params.externalUserID }, params);
  }

  getConversation(conversationID: string, params: ForMember & RequestOptions): Promise<Conversation> {
    return this.get(path`/v1/conversations/${conversationID}`, { externalUserID: params.externalUserID }, params);
  }

  /** Opens a conversation for a member (creating the member record if the org never exchanged a token for them). */
  async openConversation(params: ForMember & { title?: string; type?: string } & WriteOptions): Promise<Conversation> {
    const body = definedOnly({ externalUserID: params.externalUserID, title: params.title, type: params.type });
    return (await this.transport.request<Conversation>({ method: 'POST', path: '/v1/conversations', body }, params))
      .data;
  }

  listMessages(
    conversationID: string,
    params: ForMember & { limit?: number | undefined; cursor?: string | undefined } & RequestOptions,
  ): MessagePages {
    return this.pages(conversationID, params);
  }

  /**
   * Posts as the concierge (`authorID` names the agent; default `concierge`), or with `externalUserID` on that
   * member's behalf. Posts once however often it is retried.
   */
  sendMessage(
    conversationID: string,
    message: string,
    options: SendOptions & { authorID?: string | undefined } = {},
  ): Promise<SendResult> {
    return this.send(conversationID, message, definedOnly({ authorID: options.authorID }), options);
  }

  /** Moves the concierge's read mark (or, with `externalUserID`, the member's). */
  async markRead(
    conversationID: string,
    messageID: string,
    options: WriteOptions & Partial<ForMember> = {},
  ): Promise<MarkReadResponse> {
    const call = {
      method: 'POST',
      path: path`/v1/conversations/${conversationID}/read`,
      query: { externalUserID: options.externalUserID },
      body: { messageID },
    } as const;
    return (await this.transport.request<MarkReadResponse>(call, options)).data;
  }

  /** The concierge is typing (or, with `externalUserID`, the member). */
  async typing(conversationID: string, options: WriteOptions & Partial<ForMember> = {}): Promise<{ ok: boolean }> {
    const call = {
      method: 'POST',
      path: path`/v1/conversations/${conversationID}/typing`,
      query: { externalUserID: options.externalUserID },
    } as const;
    return (await this.transport.request<{ ok: boolean }>(call, options)).data;
  }

  /** One conversation's new messages, gapless (see the member client's `streamMessages`). */
  streamMessages(conversationID: string, options: ForMember & StreamOptions): LiveStream<Message> {
    return this.messages(conversationID, options.externalUserID, 0, options);
  }

  /** The whole org's events on one connection (or, with `externalUserID`, one member's). */
  stream(options: Partial<ForMember> & StreamOptions = {}): LiveStream<StreamEvent> {
    return this.events(options.externalUserID, options);
  }
}

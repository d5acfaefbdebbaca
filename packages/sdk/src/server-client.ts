import { ClientCore, type BaseOptions, type SendOptions, type SendResult } from './client.js';
import { ConciergeError } from './core/errors.js';
import {
  MemberPages,
  WebhookDeliveryPages,
  type ListWebhookDeliveriesResponse,
  type MessagePages,
} from './core/pagination.js';
import type { LiveStream, StreamOptions } from './core/streams.js';
import type {
  ArchiveMemberResponse,
  Conversation,
  JsonValue,
  ListMembersResponse,
  ExchangeResponse,
  ListConversationsResponse,
  MarkReadResponse,
  Member,
  Message,
  StreamEvent,
  CreatedWebhookEndpoint,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventType,
  DeleteWebhookResponse,
  ListWebhooksResponse,
  ReplayWebhookResponse,
  RotateWebhookSecretResponse,
} from '@concierge/protocol';
export type {
  DeleteWebhookResponse,
  ListWebhooksResponse,
  ReplayWebhookResponse,
  RotateWebhookSecretResponse,
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

/** `setMember`: the fields given change, the others keep their values; `null` clears one. */
export interface MemberUpdate {
  displayName?: string | null | undefined;
  email?: string | null | undefined;
  tier?: string | null | undefined;
  /** The org's own JSON object about the member, replaced whole (at most 16 KiB as JSON, 8 levels deep). */
  attributes?: { [key: string]: JsonValue } | null | undefined;
}

/** `removeMember`: the hosted API's offboarding answer, with Concierge's fields beside it. */
export type RemoveMemberResponse = ArchiveMemberResponse;

/** A member-mode call made by the org's backend names the member it acts for. */
export interface ForMember {
  externalUserID: string;
}

/**
 * An event type an endpoint may subscribe to, or `*` for all. Any string is taken (a newer server may know more
 * types); the known ones autocomplete.
 */
export type WebhookEventSelector = WebhookEventType | '*' | (string & {});

export interface CreateWebhookParams {
  /** What to receive: `['conversation.message_created']`, or `['*']` for every type. */
  events: WebhookEventSelector[];
  /** https (http only on a server started with `--webhooks-allow-http`). */
  url: string;
  description?: string | null | undefined;
}

/** `updateWebhook`: only the fields given change. */
export interface UpdateWebhookParams {
  url?: string | undefined;
  events?: WebhookEventSelector[] | undefined;
  description?: string | null | undefined;
  /** `false` disables the endpoint; `true` enables it again (and forgets its run of failures). */
  enabled?: boolean | undefined;
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

  /**
   * The org's members, newest first (archived ones left out): one page when awaited, every member when iterated
   * with `for await`.
   */
  listMembers(
    params: { limit?: number | undefined; cursor?: string | undefined } = {},
    options: RequestOptions = {},
  ): MemberPages {
    const fetchPage = (cursor: string | undefined) =>
      this.get<ListMembersResponse>('/v1/members', { limit: params.limit, cursor }, options);
    return new MemberPages(fetchPage, params.cursor);
  }

  /**
   * Creates the member or updates the fields given; the others keep their values (PUT: idempotent by itself).
   * Restores an archived member.
   */
  async setMember(externalUserID: string, profile: MemberUpdate & RequestOptions = {}): Promise<Member> {
    const { displayName, email, tier, attributes } = profile;
    const body = definedOnly({ displayName, email, tier, attributes });
    return (
      await this.transport.request<Member>({ method: 'PUT', path: path`/v1/members/${externalUserID}`, body }, profile)
    ).data;
  }

  /**
   * Archives (offboards) the member: every token they hold stops working, no new one is issued, their streams end;
   * their conversations stay for the team. `setMember` restores them; `eraseMember` erases them.
   */
  async removeMember(
    externalUserID: string,
    options: RequestOptions & { retainBalance?: boolean | undefined } = {},
  ): Promise<RemoveMemberResponse> {
    const query = { retainBalance: options.retainBalance === undefined ? undefined : String(options.retainBalance) };
    return (
      await this.transport.request<RemoveMemberResponse>(
        { method: 'DELETE', path: path`/v1/members/${externalUserID}`, query },
        options,
      )
    ).data;
  }

  /**
   * Erases the member with their conversations, messages and every token they hold (a GDPR erasure request).
   * Cannot be undone. Posts once however often it is retried.
   */
  async eraseMember(externalUserID: string, options: WriteOptions = {}): Promise<{ ok: boolean; erased: boolean }> {
    const call = { method: 'POST', path: path`/v1/members/${externalUserID}/erase` } as const;
    return (await this.transport.request<{ ok: boolean; erased: boolean }>(call, options)).data;
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

  /**
   * Adds a webhook endpoint. The answer holds its `signingSecret` (`whsec_…`), shown only here: keep it for
   * `verifyWebhook`. Posts once however often it is retried (one Idempotency-Key per call).
   */
  async createWebhook(params: CreateWebhookParams, options: WriteOptions = {}): Promise<CreatedWebhookEndpoint> {
    const body = definedOnly({ events: params.events, url: params.url, description: params.description });
    return (
      await this.transport.request<CreatedWebhookEndpoint>({ method: 'POST', path: '/v1/webhooks', body }, options)
    ).data;
  }

  /** Every endpoint of the org, disabled ones included. */
  listWebhooks(options: RequestOptions = {}): Promise<ListWebhooksResponse> {
    return this.get('/v1/webhooks', {}, options);
  }

  getWebhook(webhookID: string, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    return this.get(path`/v1/webhooks/${webhookID}`, {}, options);
  }

  /** Disables the endpoint (soft: it stays listed with `disabledAt`); idempotent by itself. */
  async deleteWebhook(webhookID: string, options: RequestOptions = {}): Promise<DeleteWebhookResponse> {
    const call = { method: 'DELETE', path: path`/v1/webhooks/${webhookID}` } as const;
    return (await this.transport.request<DeleteWebhookResponse>(call, options)).data;
  }

  /** Changes the URL, events or description, or disables (`enabled: false`) and enables the endpoint. */
  async updateWebhook(
    webhookID: string,
    params: UpdateWebhookParams,
    options: RequestOptions = {},
  ): Promise<WebhookEndpoint> {
    const body = definedOnly({ ...params });
    const call = { method: 'PATCH', path: path`/v1/webhooks/${webhookID}`, body } as const;
    return (await this.transport.request<WebhookEndpoint>(call, options)).data;
  }

  /** A new signing secret; the old one keeps signing beside it for 24 hours. */
  async rotateWebhookSecret(webhookID: string, options: WriteOptions = {}): Promise<RotateWebhookSecretResponse> {
    const call = { method: 'POST', path: path`/v1/webhooks/${webhookID}/rotate-secret` } as const;
    return (await this.transport.request<RotateWebhookSecretResponse>(call, options)).data;
  }

  /**
   * The endpoint's deliveries, newest first, with their status, attempts, last answer and next attempt. Await it
   * for one page, or `for await` it for every delivery, page after page.
   */
  listWebhookDeliveries(
    webhookID: string,
    params: { limit?: number | undefined; cursor?: string | undefined } = {},
    options: RequestOptions = {},
  ): WebhookDeliveryPages {
    const fetchPage = (cursor: string | undefined) =>
      this.get<ListWebhookDeliveriesResponse>(
        path`/v1/webhooks/${webhookID}/deliveries`,
        { limit: params.limit, cursor },
        options,
      );
    return new WebhookDeliveryPages(fetchPage, params.cursor);
  }

  /** Attempts a delivery again now, with the same `webhook-id`. */
  async retryWebhookDelivery(
    webhookID: string,
    deliveryID: string,
    options: WriteOptions = {},
  ): Promise<WebhookDelivery> {
    const call = { method: 'POST', path: path`/v1/webhooks/${webhookID}/deliveries/${deliveryID}/retry` } as const;
    return (await this.transport.request<WebhookDelivery>(call, options)).data;
  }

  /** Sends again every delivery of the endpoint created since `since`: for a receiver that lost data. */
  async replayWebhook(
    webhookID: string,
    params: { since: string | Date },
    options: WriteOptions = {},
  ): Promise<ReplayWebhookResponse> {
    const since = params.since instanceof Date ? params.since.toISOString() : params.since;
    const call = { method: 'POST', path: path`/v1/webhooks/${webhookID}/replay`, body: { since } } as const;
    return (await this.transport.request<ReplayWebhookResponse>(call, options)).data;
  }

  /** Sends a `webhook.test` event to the endpoint; the answer is its delivery, queued. */
  async testWebhook(webhookID: string, options: WriteOptions = {}): Promise<WebhookDelivery> {
    const call = { method: 'POST', path: path`/v1/webhooks/${webhookID}/test` } as const;
    return (await this.transport.request<WebhookDelivery>(call, options)).data;
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

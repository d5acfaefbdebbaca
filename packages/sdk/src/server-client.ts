import { ClientCore, type BaseOptions } from './client.js';
import {
  bindListMessages,
  bindSendMessage,
  getConversation,
  listConversations,
  markRead,
  openConversation,
  typing,
  type ConversationParams,
  type ForMember,
  type ListMessages,
  type ListMessagesParams,
  type MarkReadParams,
  type OpenConversationParams,
  type SendMessage,
  type ServerSendMessageParams,
} from './conversation-calls.js';
import { ConciergeError } from './core/errors.js';
import { MemberPages, WebhookDeliveryPages, type ListWebhookDeliveriesResponse } from './core/pagination.js';
import type { LiveStream, ResumeParams, StreamOptions } from './core/streams.js';
import type {
  ArchiveMemberResponse,
  Conversation,
  CreateWebhookParams,
  MemberProfile,
  MemberUpdate,
  RemoveMemberQuery,
  UpdateWebhookParams,
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
import { positional, type Positional } from './internal/positional.js';
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

/** Names one webhook endpoint: the path field of every call about it. */
export interface WebhookParams {
  webhookID: string;
}

/** `removeMember`: the hosted API's offboarding answer, with Concierge's fields beside it. */
export type RemoveMemberResponse = ArchiveMemberResponse;

function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; importScripts?: unknown };
  return typeof g.document !== 'undefined' || typeof g.importScripts === 'function';
}

/** The member a call names, given as params or as the hosted SDK's positional `externalUserID`. */
function member(params: ForMember | string): ForMember {
  return typeof params === 'string' ? { externalUserID: params } : params;
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
  async exchangeToken(params: ForMember & MemberProfile, options: WriteOptions = {}): Promise<ExchangeResponse> {
    const { externalUserID, displayName, email, tier } = params;
    const call = {
      method: 'POST',
      path: '/v1/auth/exchange',
      body: { externalUserID, displayName, email, tier },
    } as const;
    return (await this.transport.request<ExchangeResponse>(call, options)).data;
  }

  getMember(params: ForMember, options?: RequestOptions): Promise<Member>;
  /** The hosted SDK's positional shape, kept for backends that migrate to Concierge. */
  getMember(externalUserID: string, options?: RequestOptions): Promise<Member>;
  getMember(params: ForMember | string, options: RequestOptions = {}): Promise<Member> {
    return this.get(path`/v1/members/${member(params).externalUserID}`, {}, options);
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
  setMember(params: ForMember & MemberUpdate, options?: RequestOptions): Promise<Member>;
  /** The hosted SDK's positional shape, kept for backends that migrate to Concierge. */
  setMember(externalUserID: string, profile?: MemberUpdate, options?: RequestOptions): Promise<Member>;
  async setMember(...args: Positional<ForMember & MemberUpdate, MemberUpdate>): Promise<Member> {
    const [{ externalUserID, ...body }, options] = positional('externalUserID', ...args);
    const call = { method: 'PUT', path: path`/v1/members/${externalUserID}`, body } as const;
    return (await this.transport.request<Member>(call, options)).data;
  }

  /**
   * Archives (offboards) the member: every token they hold stops working, no new one is issued, their streams end;
   * their conversations stay for the team. `setMember` restores them; `eraseMember` erases them.
   */
  removeMember(params: ForMember & RemoveMemberQuery, options?: RequestOptions): Promise<RemoveMemberResponse>;
  /** The hosted SDK's positional shape, kept for backends that migrate to Concierge. */
  removeMember(
    externalUserID: string,
    query?: RemoveMemberQuery,
    options?: RequestOptions,
  ): Promise<RemoveMemberResponse>;
  async removeMember(
    ...args: Positional<ForMember & RemoveMemberQuery, RemoveMemberQuery>
  ): Promise<RemoveMemberResponse> {
    const [params, options] = positional('externalUserID', ...args);
    const retainBalance = params.retainBalance === undefined ? undefined : String(params.retainBalance);
    const call = {
      method: 'DELETE',
      path: path`/v1/members/${params.externalUserID}`,
      query: { retainBalance },
    } as const;
    return (await this.transport.request<RemoveMemberResponse>(call, options)).data;
  }

  /**
   * Erases the member with their conversations, messages and every token they hold (a GDPR erasure request).
   * Cannot be undone. Posts once however often it is retried.
   */
  async eraseMember(params: ForMember, options: WriteOptions = {}): Promise<{ ok: boolean; erased: boolean }> {
    const call = { method: 'POST', path: path`/v1/members/${params.externalUserID}/erase` } as const;
    return (await this.transport.request<{ ok: boolean; erased: boolean }>(call, options)).data;
  }

  /** Invalidates every token the member holds now; their open streams end at once. */
  async revokeTokens(params: ForMember, options: WriteOptions = {}): Promise<{ ok: boolean; revokedAt: string }> {
    const call = { method: 'POST', path: path`/v1/members/${params.externalUserID}/revoke-tokens` } as const;
    return (await this.transport.request<{ ok: boolean; revokedAt: string }>(call, options)).data;
  }

  listConversations(params: ForMember, options: RequestOptions = {}): Promise<ListConversationsResponse> {
    return listConversations(this.transport, params, options);
  }

  getConversation(params: ConversationParams & ForMember, options: RequestOptions = {}): Promise<Conversation> {
    return getConversation(this.transport, params, options);
  }

  /** Opens a conversation for a member (creating the member record if the org never exchanged a token for them). */
  openConversation(params: ForMember & OpenConversationParams, options: WriteOptions = {}): Promise<Conversation> {
    return openConversation(this.transport, params, options);
  }

  /** A page of the member's history in the conversation, newest first, or all of it (`for await`). */
  readonly listMessages: ListMessages<ListMessagesParams & ForMember> = bindListMessages(this.transport);

  /**
   * Posts as the concierge (`authorID` names the agent; default `concierge`), or with `externalUserID` on that
   * member's behalf; the hosted SDK's `(conversationID, message)` posts as the concierge. Posts once however often
   * it is retried.
   */
  readonly sendMessage: SendMessage<ServerSendMessageParams> = bindSendMessage(this.transport);

  /** Moves the concierge's read mark (or, with `externalUserID`, the member's). */
  markRead(params: MarkReadParams & Partial<ForMember>, options: WriteOptions = {}): Promise<MarkReadResponse> {
    return markRead(this.transport, params, options);
  }

  /** The concierge is typing (or, with `externalUserID`, the member). */
  typing(params: ConversationParams & Partial<ForMember>, options: WriteOptions = {}): Promise<{ ok: boolean }> {
    return typing(this.transport, params, options);
  }

  /**
   * Adds a webhook endpoint. The answer holds its `signingSecret` (`whsec_…`), shown only here: keep it for
   * `verifyWebhook`. Posts once however often it is retried (one Idempotency-Key per call).
   */
  async createWebhook(params: CreateWebhookParams, options: WriteOptions = {}): Promise<CreatedWebhookEndpoint> {
    const body = { events: params.events, url: params.url, description: params.description };
    return (
      await this.transport.request<CreatedWebhookEndpoint>({ method: 'POST', path: '/v1/webhooks', body }, options)
    ).data;
  }

  /** Every endpoint of the org, disabled ones included. */
  listWebhooks(options: RequestOptions = {}): Promise<ListWebhooksResponse> {
    return this.get('/v1/webhooks', {}, options);
  }

  getWebhook(params: WebhookParams, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    return this.get(path`/v1/webhooks/${params.webhookID}`, {}, options);
  }

  /** Disables the endpoint (soft: it stays listed with `disabledAt`); idempotent by itself. */
  deleteWebhook(params: WebhookParams, options?: RequestOptions): Promise<DeleteWebhookResponse>;
  /** The hosted SDK's positional shape, kept for backends that migrate to Concierge. */
  deleteWebhook(webhookID: string, options?: RequestOptions): Promise<DeleteWebhookResponse>;
  async deleteWebhook(params: WebhookParams | string, options: RequestOptions = {}): Promise<DeleteWebhookResponse> {
    const webhookID = typeof params === 'string' ? params : params.webhookID;
    const call = { method: 'DELETE', path: path`/v1/webhooks/${webhookID}` } as const;
    return (await this.transport.request<DeleteWebhookResponse>(call, options)).data;
  }

  /** Changes the URL, events or description, or disables (`enabled: false`) and enables the endpoint. */
  async updateWebhook(
    params: WebhookParams & UpdateWebhookParams,
    options: RequestOptions = {},
  ): Promise<WebhookEndpoint> {
    const { webhookID, ...body } = params;
    const call = { method: 'PATCH', path: path`/v1/webhooks/${webhookID}`, body } as const;
    return (await this.transport.request<WebhookEndpoint>(call, options)).data;
  }

  /** A new signing secret; the old one keeps signing beside it for 24 hours. */
  async rotateWebhookSecret(params: WebhookParams, options: WriteOptions = {}): Promise<RotateWebhookSecretResponse> {
    const call = { method: 'POST', path: path`/v1/webhooks/${params.webhookID}/rotate-secret` } as const;
    return (await this.transport.request<RotateWebhookSecretResponse>(call, options)).data;
  }

  /**
   * The endpoint's deliveries, newest first, with their status, attempts, last answer and next attempt. Await it
   * for one page, or `for await` it for every delivery, page after page.
   */
  listWebhookDeliveries(
    params: WebhookParams & { limit?: number | undefined; cursor?: string | undefined },
    options: RequestOptions = {},
  ): WebhookDeliveryPages {
    const p = path`/v1/webhooks/${params.webhookID}/deliveries`;
    const fetchPage = (cursor: string | undefined) =>
      this.get<ListWebhookDeliveriesResponse>(p, { limit: params.limit, cursor }, options);
    return new WebhookDeliveryPages(fetchPage, params.cursor);
  }

  /** Attempts a delivery again now, with the same `webhook-id`. */
  async retryWebhookDelivery(
    params: WebhookParams & { deliveryID: string },
    options: WriteOptions = {},
  ): Promise<WebhookDelivery> {
    const p = path`/v1/webhooks/${params.webhookID}/deliveries/${params.deliveryID}/retry`;
    return (await this.transport.request<WebhookDelivery>({ method: 'POST', path: p }, options)).data;
  }

  /** Sends again every delivery of the endpoint created since `since`: for a receiver that lost data. */
  async replayWebhook(
    params: WebhookParams & { since: string | Date },
    options: WriteOptions = {},
  ): Promise<ReplayWebhookResponse> {
    const since = params.since instanceof Date ? params.since.toISOString() : params.since;
    const p = path`/v1/webhooks/${params.webhookID}/replay`;
    return (await this.transport.request<ReplayWebhookResponse>({ method: 'POST', path: p, body: { since } }, options))
      .data;
  }

  /** Sends a `webhook.test` event to the endpoint; the answer is its delivery, queued. */
  async testWebhook(params: WebhookParams, options: WriteOptions = {}): Promise<WebhookDelivery> {
    const call = { method: 'POST', path: path`/v1/webhooks/${params.webhookID}/test` } as const;
    return (await this.transport.request<WebhookDelivery>(call, options)).data;
  }

  /** One conversation's new messages, gapless (see the member client's `streamMessages`). */
  streamMessages(
    params: ConversationParams & ForMember & ResumeParams,
    options: StreamOptions = {},
  ): LiveStream<Message> {
    return this.messages(params.conversationID, params.externalUserID, 0, params.after, options);
  }

  /** The whole org's events on one connection (or, with `externalUserID`, one member's). */
  stream(params: Partial<ForMember> & ResumeParams = {}, options: StreamOptions = {}): LiveStream<StreamEvent> {
    return this.events(params.externalUserID, params.after, options);
  }
}

import {
  bindListMessages,
  bindSendMessage,
  getConversation,
  listConversations,
  markRead,
  messagePage,
  openConversation,
  typing,
  type ConversationParams,
  type ListMessages,
  type ListMessagesParams,
  type MarkReadParams,
  type OpenConversationParams,
  type SendMessage,
  type SendMessageParams,
} from './conversation-calls.js';
import { ConciergeError } from './core/errors.js';
import {
  eventStream,
  LiveStream,
  messageStream,
  type ResumeParams,
  type StreamContext,
  type StreamOptions,
} from './core/streams.js';
import type {
  Conversation,
  ListConversationsResponse,
  MarkReadResponse,
  Message,
  StreamEvent,
  StreamTicket,
} from '@concierge/protocol';
import { TokenCredential, type Credential, type RefreshHook } from './internal/credentials.js';
import { path } from './internal/ids.js';
import { Transport, type RequestOptions, type WriteOptions } from './internal/transport.js';

export interface ConciergeOptions {
  /** Where the Concierge server answers, e.g. `https://concierge.example.com`. */
  baseURL: string;
  /** The member token the org's backend minted (`POST /v1/auth/exchange`). Never an Org-API-Key. */
  token: string;
  /** When `token` expires (the exchange's `expiresAt`); lets the SDK refresh before it lapses. */
  tokenExpiresAt?: string | number | Date | null | undefined;
  /**
   * Asks the app's backend for a fresh member token. Called `refreshSkewMs` before expiry and on a 401; one call
   * at a time however many requests need it. Return the token, or `{accessToken, expiresAt}` as the exchange gave it.
   */
  refreshToken?: RefreshHook | undefined;
  /** How long before `tokenExpiresAt` to refresh. Default 30 000. */
  refreshSkewMs?: number | undefined;
  /** Retries after the first attempt for 429, 5xx and network failures. Default 2. */
  maxRetries?: number | undefined;
  /** Per attempt. Default 30 000. For streams: the time allowed for the answer's head. */
  timeoutMs?: number | undefined;
  /** The server's SSE heartbeat period (its `--heartbeat`); a stream silent for three of them reconnects. Default 5 000. */
  heartbeatMs?: number | undefined;
  /** A fetch to use instead of the global one (it must stream response bodies for the live streams). */
  fetch?: typeof fetch | undefined;
}

/** Options common to the three clients; each client fills in its credential. */
export interface BaseOptions {
  baseURL: string;
  maxRetries?: number | undefined;
  timeoutMs?: number | undefined;
  heartbeatMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

/**
 * What the member, agent and server clients share: the transport with its credential, and the live streams. Their
 * conversation calls are `conversation-calls.ts`'s, each client binding them with the parameters its caller may pass.
 */
export abstract class ClientCore {
  /** @internal */
  protected readonly transport: Transport;
  /** @internal */
  protected readonly streams: StreamContext;

  protected constructor(options: BaseOptions, credential: Credential) {
    if (typeof options.baseURL !== 'string' || !/^https?:\/\//.test(options.baseURL))
      throw new ConciergeError('`baseURL` must be an http(s) URL.');
    // Called as a plain function: browsers throw "Illegal invocation" for a fetch called as a method of another object.
    const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
    this.transport = new Transport({
      baseURL: options.baseURL,
      credential,
      maxRetries: options.maxRetries ?? 2,
      timeoutMs: options.timeoutMs ?? 30_000,
      fetch: fetchFn,
    });
    this.streams = {
      transport: this.transport,
      heartbeatMs: options.heartbeatMs ?? 5_000,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
  }

  /** @internal */
  protected async get<T>(
    p: string,
    query: Record<string, string | number | undefined>,
    options: RequestOptions,
  ): Promise<T> {
    return (await this.transport.request<T>({ method: 'GET', path: p, query }, options)).data;
  }

  /** @internal */
  protected messages(
    conversationID: string,
    externalUserID: string | undefined,
    history: number,
    after: string | undefined,
    options: StreamOptions,
  ): LiveStream<Message> {
    const p = path`/v1/conversations/${conversationID}/stream`;
    const list = (cursor: string | undefined, limit: number, signal: AbortSignal) =>
      messagePage(this.transport, conversationID, { limit, cursor, externalUserID }, { signal });
    return new LiveStream(
      (state, signal, caller) =>
        messageStream(this.streams, list, p, { externalUserID }, history, state, signal, caller, options.onStatus),
      after,
      options.signal,
    );
  }

  /** @internal */
  protected events<E = StreamEvent>(
    externalUserID: string | undefined,
    after: string | undefined,
    options: StreamOptions,
    types?: ReadonlySet<string>,
  ): LiveStream<E> {
    const query = { externalUserID };
    return new LiveStream(
      (state, signal, caller) =>
        eventStream<E>(this.streams, '/v1/stream', query, state, signal, caller, options.onStatus, types),
      after,
      options.signal,
    );
  }
}

/**
 * The member client: what a member's app (browser, React Native, Node) uses with the short-lived member token.
 * Browser-safe: it uses fetch, streams and Web Crypto only.
 */
export class Concierge extends ClientCore {
  private readonly credential: TokenCredential;

  constructor(options: ConciergeOptions) {
    if (typeof options.token !== 'string' || options.token === '') throw new ConciergeError('`token` is required.');
    // Any Org-API-Key prefix (`ck_live_`, `expys_live_`, …; protocol's API_KEY_PREFIX_PATTERN, inlined so the member
    // bundle takes nothing more from protocol than the status table).
    if (/^[a-z]+_(?:live|sandbox)_/.test(options.token))
      throw new ConciergeError(
        'This is an Org-API-Key: never ship it to a member app. Mint member tokens on your backend with `@concierge/sdk/server`.',
      );
    const credential = new TokenCredential(
      options.token,
      options.tokenExpiresAt,
      options.refreshToken,
      options.refreshSkewMs ?? 30_000,
    );
    super(options, credential);
    this.credential = credential;
  }

  /** Replaces the token (say, the app got a new one another way). */
  setToken(token: string, expiresAt?: string | number | Date | null): void {
    this.credential.set(token, expiresAt);
  }

  /** The member's conversations, newest activity first. A member may name itself with `externalUserID`. */
  listConversations(
    params: { externalUserID?: string | undefined } = {},
    options: RequestOptions = {},
  ): Promise<ListConversationsResponse> {
    return listConversations(this.transport, params, options);
  }

  getConversation(params: ConversationParams, options: RequestOptions = {}): Promise<Conversation> {
    return getConversation(this.transport, params, options);
  }

  /** Opens a new conversation for the member. */
  openConversation(params: OpenConversationParams = {}, options: WriteOptions = {}): Promise<Conversation> {
    return openConversation(this.transport, params, options);
  }

  /** One page (await it), or the whole history newest first (`for await`). */
  readonly listMessages: ListMessages<ListMessagesParams> = bindListMessages(this.transport);

  /** Posts once, however often it is retried: one Idempotency-Key per call (or the caller's). */
  readonly sendMessage: SendMessage<SendMessageParams> = bindSendMessage(this.transport);

  /** Moves the member's read mark forward to `messageID`. */
  markRead(params: MarkReadParams, options: WriteOptions = {}): Promise<MarkReadResponse> {
    return markRead(this.transport, params, options);
  }

  /** Tells the concierge side the member is typing (throttled by the server to one a second). */
  typing(params: ConversationParams, options: WriteOptions = {}): Promise<{ ok: boolean }> {
    return typing(this.transport, params, options);
  }

  /** New messages of one conversation, live, each exactly once and in order across drops. */
  streamMessages(params: ConversationParams & ResumeParams, options: StreamOptions = {}): LiveStream<Message> {
    return this.messages(params.conversationID, undefined, 0, params.after, options);
  }

  /** The latest page of history (oldest first), then live: no gap and no repeat between the two. */
  syncMessages(
    params: ConversationParams & { limit?: number | undefined },
    options: StreamOptions = {},
  ): LiveStream<Message> {
    return this.messages(params.conversationID, undefined, params.limit ?? 50, undefined, options);
  }

  /** Every event of the member on one connection: messages, conversations, read marks, typing. */
  stream(params: ResumeParams = {}, options: StreamOptions = {}): LiveStream<StreamEvent> {
    return this.events(undefined, params.after, options);
  }

  /**
   * A single-use ticket for a native `EventSource` (`?ticket=`), which cannot send headers. It expires after the
   * server's `--ticket-ttl` (60 s by default): `expiresAt` says when.
   */
  async createStreamTicket(options: WriteOptions = {}): Promise<StreamTicket> {
    return (await this.transport.request<StreamTicket>({ method: 'POST', path: '/v1/stream-tickets' }, options)).data;
  }
}

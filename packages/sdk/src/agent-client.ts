import type { AgentStreamEvent } from './agent-types.js';
import { ClientCore } from './client.js';
import {
  listMessages,
  markRead,
  sendMessage,
  typing,
  type ConversationParams,
  type ForMember,
  type ListMessagesParams,
  type MarkReadParams,
  type SendMessageParams,
  type SendResult,
} from './conversation-calls.js';
import { ConciergeError, UnauthorizedError } from './core/errors.js';
import { CursorPages, type MessagePages } from './core/pagination.js';
import { EVENT_TYPES, type LiveStream, type ResumeParams, type StreamOptions } from './core/streams.js';
import type {
  Agent,
  AgentSession,
  ConversationState,
  CreateAgentResponse,
  InboxCounts,
  InboxItem,
  InboxPage,
  InboxQuery,
  MarkReadResponse,
  Member,
  Note,
  NotesPage,
  ServerLimits,
  SignedIn,
  Teammate,
} from '@concierge/protocol';
import { TokenCredential } from './internal/credentials.js';
import { path } from './internal/ids.js';
import type { Call, RequestOptions, WriteOptions } from './internal/transport.js';

export interface ConciergeAgentOptions {
  /** Where the Concierge server answers. The console passes its own origin: the refresh cookie is same-site. */
  baseURL: string;
  /** Retries after the first attempt for 429, 5xx and network failures. Default 2. */
  maxRetries?: number | undefined;
  /** Per attempt. Default 30 000. */
  timeoutMs?: number | undefined;
  /** The server's SSE heartbeat period (its `--heartbeat`). Default 5 000. */
  heartbeatMs?: number | undefined;
  /** How long before the access token expires to refresh it. Default 30 000. */
  refreshSkewMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

const AGENT_EVENT_TYPES: ReadonlySet<string> = new Set([...EVENT_TYPES, 'conversation.updated', 'note']);

/** The Web Locks API where there is one: the refresh of one tab must not race another tab's (the secret rotates). */
interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/**
 * The agent client: a named member of the concierge team, signed in with email and password (never the
 * Org-API-Key), for the console and team tools in a browser. It holds a short-lived access token and renews it
 * through the `HttpOnly` refresh cookie (`POST /v1/agent-auth/refresh`), so a reload resumes the session without
 * the password: the first call after construction refreshes, and `resume()` says whether a session exists.
 */
export class ConciergeAgent extends ClientCore {
  private readonly credential: TokenCredential;
  private current: Agent | null = null;
  private currentLimits: ServerLimits | null = null;
  /** The org switch under way: a refresh waits for it (see `switchOrg`). */
  private switching: Promise<SignedIn> | null = null;

  constructor(options: ConciergeAgentOptions) {
    // The token starts empty and already due, so the first call refreshes through the cookie.
    let refresh: () => Promise<SignedIn> = () => Promise.reject(new ConciergeError('not constructed'));
    const credential = new TokenCredential('', 0, () => refresh(), options.refreshSkewMs ?? 30_000);
    super(options, credential);
    this.credential = credential;
    refresh = () => this.refreshSession();
  }

  /** The signed-in agent, once a sign-in, setup, resume or refresh has answered. */
  get agent(): Agent | null {
    return this.current;
  }

  /** What the server accepts (the longest message, …), once a sign-in, setup, resume or refresh has answered. */
  get limits(): ServerLimits | null {
    return this.currentLimits;
  }

  /** Sets the password from a one-time sign-in link's token (`/console/setup#token=…`) and signs in. */
  setup(params: { token: string; password: string }, options: WriteOptions = {}): Promise<SignedIn> {
    return this.signInWith('/v1/agent-auth/setup', { token: params.token, password: params.password }, options);
  }

  signIn(
    params: { email: string; password: string; orgID?: string | undefined },
    options: WriteOptions = {},
  ): Promise<SignedIn> {
    const body = { email: params.email, password: params.password, orgID: params.orgID };
    return this.signInWith('/v1/agent-auth/sign-in', body, options);
  }

  /**
   * Switches to the same person's agent in another org (one of `orgs` in the last sign-in answer) without the
   * password: a new session there, whose refresh cookie replaces this one; this session ends.
   */
  async switchOrg(params: { orgID: string }, options: WriteOptions = {}): Promise<SignedIn> {
    // The switch ends this session, and with it this session's streams, whose reconnection then finds its token
    // refused and refreshes: with the old cookie if the switch's answer (and its cookie) has not arrived yet. That
    // refresh would fail and clear the cookie, signing the browser out of the org it just moved to. So a refresh
    // started during the switch waits for it and takes its answer, and the switch sends the token it had (after
    // any refresh already under way), never renewing it: the session it ends is the one it names.
    const bearer = await this.credential.current(options.signal ?? null);
    const call: Call = { method: 'POST', path: '/v1/agent-auth/switch', body: { orgID: params.orgID }, bearer };
    const switching = this.transport.request<SignedIn>(call, options).then((answer) => this.adopt(answer.data));
    this.switching = switching;
    try {
      return await switching;
    } finally {
      if (this.switching === switching) this.switching = null;
    }
  }

  /** Resumes the session the refresh cookie holds; null when there is none (sign in then). */
  async resume(): Promise<SignedIn | null> {
    try {
      return await this.refreshSession();
    } catch (error) {
      if (error instanceof UnauthorizedError) return null;
      throw error;
    }
  }

  /** Ends this session on the server (the cookie names it) and clears the cookie. */
  async signOut(options: WriteOptions = {}): Promise<void> {
    try {
      await this.transport.request({ method: 'POST', path: '/v1/agent-auth/sign-out', auth: false }, options);
    } finally {
      this.current = null;
      this.credential.set('', 0);
    }
  }

  getMe(options: RequestOptions = {}): Promise<Agent> {
    return this.get('/v1/agents/me', {}, options);
  }

  /** The org's agents (admins only: a plain agent gets ForbiddenError). */
  async listAgents(options: RequestOptions = {}): Promise<Agent[]> {
    return (await this.get<{ data: Agent[] }>('/v1/agents', {}, options)).data;
  }

  /** The names and roles of the org's agents, disabled ones too: for any agent (no emails; see `listAgents`). */
  async listTeammates(options: RequestOptions = {}): Promise<Teammate[]> {
    return (await this.get<{ data: Teammate[] }>('/v1/teammates', {}, options)).data;
  }

  /** Adds an agent (admins): the answer carries their one-time sign-in link, to hand to them. */
  async createAgent(
    params: { email: string; name: string; role?: 'admin' | 'agent' | undefined },
    options: WriteOptions = {},
  ): Promise<CreateAgentResponse> {
    return this.post('/v1/agents', { email: params.email, name: params.name, role: params.role }, options);
  }

  /** Renames, promotes or disables an agent (admins). Disabling ends their sessions and streams at once. */
  async updateAgent(
    params: {
      agentID: string;
      name?: string | undefined;
      role?: 'admin' | 'agent' | undefined;
      disabled?: boolean | undefined;
    },
    options: RequestOptions = {},
  ): Promise<Agent> {
    const body = { name: params.name, role: params.role, disabled: params.disabled };
    const call = { method: 'PATCH', path: path`/v1/agents/${params.agentID}`, body } as const;
    return (await this.transport.request<Agent>(call, options)).data;
  }

  /** An agent's sessions (their own, or anyone's for an admin); `current` marks this one. */
  async listSessions(params: { agentID: string }, options: RequestOptions = {}): Promise<AgentSession[]> {
    const p = path`/v1/agents/${params.agentID}/sessions`;
    return (await this.get<{ data: AgentSession[] }>(p, {}, options)).data;
  }

  /** Ends one session. */
  async revokeSession(params: { sessionID: string }, options: RequestOptions = {}): Promise<void> {
    await this.transport.request({ method: 'DELETE', path: path`/v1/agent-sessions/${params.sessionID}` }, options);
  }

  /** Signs the agent out everywhere: every session ends, this one included. */
  async revokeAllSessions(params: { agentID: string }, options: RequestOptions = {}): Promise<number> {
    const call = { method: 'DELETE', path: path`/v1/agents/${params.agentID}/sessions` } as const;
    return (await this.transport.request<{ ok: boolean; revoked: number }>(call, options)).data.revoked;
  }

  /** The org's conversations, newest activity first (ranked by relevance with `q`): await a page or iterate all. */
  inbox(params: InboxQuery = {}, options: RequestOptions = {}): CursorPages<InboxPage, InboxItem> {
    const fetchPage = (cursor: string | undefined) =>
      this.get<InboxPage>(
        '/v1/inbox',
        {
          status: params.status,
          assignee: params.assignee,
          awaiting: params.awaiting === true ? 'true' : undefined,
          q: params.q,
          limit: params.limit,
          cursor,
        },
        options,
      );
    return new CursorPages(fetchPage, params.cursor, (page) => page.data);
  }

  /** One conversation as the inbox shows it, by its id alone (what a link to it carries). */
  inboxItem(params: ConversationParams, options: RequestOptions = {}): Promise<InboxItem> {
    return this.get(path`/v1/inbox/${params.conversationID}`, {}, options);
  }

  /** How many conversations each view holds; cheap enough to call after every state change. */
  counts(options: RequestOptions = {}): Promise<InboxCounts> {
    return this.get('/v1/inbox/counts', {}, options);
  }

  /** Assigns the conversation (to `me` by default: this agent). Idempotent. */
  assign(
    params: ConversationParams & { assigneeID?: string | undefined },
    options: WriteOptions = {},
  ): Promise<ConversationState> {
    const body = { assigneeID: params.assigneeID ?? 'me' };
    return this.post(path`/v1/conversations/${params.conversationID}/assign`, body, options);
  }

  unassign(params: ConversationParams, options: WriteOptions = {}): Promise<ConversationState> {
    return this.post(path`/v1/conversations/${params.conversationID}/unassign`, undefined, options);
  }

  close(params: ConversationParams, options: WriteOptions = {}): Promise<ConversationState> {
    return this.post(path`/v1/conversations/${params.conversationID}/close`, undefined, options);
  }

  reopen(params: ConversationParams, options: WriteOptions = {}): Promise<ConversationState> {
    return this.post(path`/v1/conversations/${params.conversationID}/reopen`, undefined, options);
  }

  /** Internal notes, newest first: the team sees them, the member never does. */
  listNotes(
    params: ConversationParams & { limit?: number | undefined; cursor?: string | undefined },
    options: RequestOptions = {},
  ): CursorPages<NotesPage, Note> {
    const p = path`/v1/conversations/${params.conversationID}/notes`;
    const fetchPage = (cursor: string | undefined) => this.get<NotesPage>(p, { limit: params.limit, cursor }, options);
    return new CursorPages(fetchPage, params.cursor, (page) => page.notes);
  }

  /** Adds an internal note; posts once however often it is retried (pass the same `idempotencyKey` to retry). */
  addNote(params: ConversationParams & { body: string }, options: WriteOptions = {}): Promise<Note> {
    return this.post(path`/v1/conversations/${params.conversationID}/notes`, { body: params.body }, options);
  }

  /**
   * A page of a conversation's history, newest first (or every message, iterated). The messages route reads a
   * member's history, so it names the member (`InboxItem.member.externalUserID`).
   */
  listMessages(params: ListMessagesParams & ForMember, options: RequestOptions = {}): MessagePages {
    return listMessages(this.transport, params, options);
  }

  /**
   * Replies as this agent (the server sets `authorID`). One Idempotency-Key per call, reused on every retry; a
   * failed send retried by the user later must pass the same `idempotencyKey` so it can never post twice.
   */
  sendMessage(params: SendMessageParams, options: WriteOptions = {}): Promise<SendResult> {
    return sendMessage(this.transport, params, options);
  }

  /** Moves this agent's read mark (the member sees "read" on their side). */
  markRead(params: MarkReadParams, options: WriteOptions = {}): Promise<MarkReadResponse> {
    return markRead(this.transport, params, options);
  }

  /** Tells the member this agent is typing (the server sends at most one a second). */
  typing(params: ConversationParams, options: WriteOptions = {}): Promise<{ ok: boolean }> {
    return typing(this.transport, params, options);
  }

  /** A member's profile (the inbox items carry the same fields). */
  getMember(params: ForMember, options: RequestOptions = {}): Promise<Member> {
    return this.get(path`/v1/members/${params.externalUserID}`, {}, options);
  }

  /**
   * The whole org's events on one connection, team-only ones included (`conversation.updated`, `note`), resumed
   * after every drop with nothing missed or repeated. `onStatus` reports drops for a "reconnecting…" banner.
   */
  stream(params: ResumeParams = {}, options: StreamOptions = {}): LiveStream<AgentStreamEvent> {
    return this.events<AgentStreamEvent>(undefined, params.after, options, AGENT_EVENT_TYPES);
  }

  private async post<T>(p: string, body: unknown, options: WriteOptions): Promise<T> {
    return (await this.transport.request<T>({ method: 'POST', path: p, body }, options)).data;
  }

  private async signInWith(p: string, body: Record<string, unknown>, options: WriteOptions): Promise<SignedIn> {
    const answer = await this.transport.request<SignedIn>({ method: 'POST', path: p, body, auth: false }, options);
    return this.adopt(answer.data);
  }

  private adopt(signedIn: SignedIn): SignedIn {
    this.credential.set(signedIn.accessToken, signedIn.expiresAt);
    this.current = signedIn.agent;
    this.currentLimits = signedIn.limits;
    return signedIn;
  }

  /** One refresh at a time across tabs: two tabs spending the same rotated secret would end the session. */
  private refreshSession(): Promise<SignedIn> {
    const run = async () => {
      const switched = await this.switching?.catch(() => null);
      if (switched !== undefined && switched !== null) return switched;
      const call: Call = { method: 'POST', path: '/v1/agent-auth/refresh', auth: false };
      return this.adopt((await this.transport.request<SignedIn>(call, { maxRetries: 2 })).data);
    };
    const locks = (globalThis.navigator as { locks?: Locks } | undefined)?.locks;
    return locks === undefined ? run() : locks.request('concierge-agent-refresh', run);
  }
}

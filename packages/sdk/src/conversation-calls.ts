import type {
  Conversation,
  ListConversationsResponse,
  ListMessagesResponse,
  ListMessagesQuery,
  MarkReadBody,
  MarkReadResponse,
  OpenConversationParams,
  SendMessageBody,
  SendMessageResponse,
} from '@concierge/protocol';
export type { ListMessagesQuery, OpenConversationParams } from '@concierge/protocol';
import { MessagePages } from './core/pagination.js';
import { path } from './internal/ids.js';
import { positional, type Positional } from './internal/positional.js';
import type { Call, RequestOptions, Transport, WriteOptions } from './internal/transport.js';

/*
 * The conversation calls, each written once over the transport and bound by the member, agent and server clients
 * (docs/STYLE.md, pattern 12; openai-node's resources). What differs between the clients is data, never a copy:
 * `externalUserID` names the member a server-key call acts for (a query parameter, or the body's owner of a new
 * conversation), `authorID` the agent a server-key send speaks as (a body field). Each client's parameter types
 * admit only what its caller may send; JSON and the query builder drop the fields left undefined, so each call
 * puts on the wire exactly what the client was given.
 */

/** The path field of every call of one conversation. */
export interface ConversationParams {
  conversationID: string;
}

/** The member a call made with the Org-API-Key acts for (the `externalUserID` query parameter). */
export interface ForMember {
  externalUserID: string;
}

export interface ListMessagesParams extends ConversationParams, ListMessagesQuery {}

export interface SendMessageParams extends ConversationParams, Pick<SendMessageBody, 'message'> {}

/** A send by the org's backend: as an agent (`authorID`, default `concierge`) or on a member's behalf. */
export interface ServerSendMessageParams extends SendMessageParams, SendMessageBody {
  externalUserID?: string | undefined;
}

export interface MarkReadParams extends ConversationParams, MarkReadBody {}

/** `sendMessage`'s answer, plus whether it is the replay of an earlier send with the same Idempotency-Key. */
export interface SendResult extends SendMessageResponse {
  replayed: boolean;
}

/** The widest parameters each call takes: what any one of the clients may pass. */
interface Acting {
  externalUserID?: string | undefined;
}

async function data<T>(transport: Transport, call: Call, options: WriteOptions): Promise<T> {
  return (await transport.request<T>(call, options)).data;
}

/** A call on one conversation's route (`suffix` below it), naming the member when the caller acts for one. */
function onConversation(
  method: 'GET' | 'POST',
  params: ConversationParams & Acting,
  suffix: '' | '/messages' | '/read' | '/typing',
  body?: unknown,
): Call {
  const p = path`/v1/conversations/${params.conversationID}` + suffix;
  return { method, path: p, query: { externalUserID: params.externalUserID }, body };
}

export function listConversations(
  transport: Transport,
  params: Acting,
  options: RequestOptions = {},
): Promise<ListConversationsResponse> {
  const query = { externalUserID: params.externalUserID };
  return data(transport, { method: 'GET', path: '/v1/conversations', query }, options);
}

export function getConversation(
  transport: Transport,
  params: ConversationParams & Acting,
  options: RequestOptions = {},
): Promise<Conversation> {
  return data(transport, onConversation('GET', params, ''), options);
}

export function openConversation(
  transport: Transport,
  params: OpenConversationParams & Acting,
  options: WriteOptions = {},
): Promise<Conversation> {
  const body = { externalUserID: params.externalUserID, title: params.title, type: params.type };
  return data(transport, { method: 'POST', path: '/v1/conversations', body }, options);
}

/** One page of a conversation's history, newest first: what `listMessages` and the live streams read. */
export function messagePage(
  transport: Transport,
  conversationID: string,
  query: ListMessagesQuery,
  options: RequestOptions,
): Promise<ListMessagesResponse> {
  const { limit, cursor, externalUserID } = query;
  const call = {
    method: 'GET',
    path: path`/v1/conversations/${conversationID}/messages`,
    query: { limit, cursor, externalUserID },
  } as const;
  return data(transport, call, options);
}

/**
 * `(params, options?)`, or the hosted SDK's positional `(conversationID, query?, options?)` that migrating apps
 * call. Nothing is fetched until the answer is awaited or iterated.
 */
export function listMessages(
  transport: Transport,
  ...args: Positional<ListMessagesParams, ListMessagesQuery>
): MessagePages {
  const [params, options] = positional('conversationID', ...args);
  const fetchPage = (cursor: string | undefined) =>
    messagePage(transport, params.conversationID, { ...params, cursor }, options);
  return new MessagePages(fetchPage, params.cursor);
}

/** `(params, options?)`, or the hosted SDK's positional `(conversationID, message, options?)`. */
export async function sendMessage(
  transport: Transport,
  first: ServerSendMessageParams | string,
  second?: WriteOptions | string,
  third?: WriteOptions,
): Promise<SendResult> {
  const [params, options]: [ServerSendMessageParams, WriteOptions] =
    typeof first === 'string'
      ? [{ conversationID: first, message: second as string }, third ?? {}]
      : [first, (second as WriteOptions | undefined) ?? {}];
  const body = { message: params.message, authorID: params.authorID };
  const answer = await transport.request<SendMessageResponse>(
    onConversation('POST', params, '/messages', body),
    options,
  );
  return { ...answer.data, replayed: answer.replayed };
}

/**
 * `listMessages` and `sendMessage` as the member and server clients expose them: `(params, options?)`, and the
 * hosted SDK's positional shapes, `(conversationID, query?, options?)` and `(conversationID, message, options?)`,
 * which apps moving to Concierge call. `P` is what the client's caller may send.
 */
export interface ListMessages<P extends ListMessagesParams> {
  (params: P, options?: RequestOptions): MessagePages;
  (conversationID: string, query?: Omit<P, 'conversationID'>, options?: RequestOptions): MessagePages;
}

export interface SendMessage<P extends SendMessageParams> {
  (params: P, options?: WriteOptions): Promise<SendResult>;
  (conversationID: string, message: string, options?: WriteOptions): Promise<SendResult>;
}

/** `listMessages` bound to one client's transport, with both its shapes. */
export function bindListMessages<P extends ListMessagesParams>(transport: Transport): ListMessages<P> {
  return (...args: Positional<P, ListMessagesQuery>) => listMessages(transport, ...args);
}

/** `sendMessage` bound to one client's transport, with both its shapes. */
export function bindSendMessage<P extends SendMessageParams>(transport: Transport): SendMessage<P> {
  return (first: P | string, second?: WriteOptions | string, third?: WriteOptions) =>
    sendMessage(transport, first, second, third);
}

export function markRead(
  transport: Transport,
  params: MarkReadParams & Acting,
  options: WriteOptions = {},
): Promise<MarkReadResponse> {
  return data(transport, onConversation('POST', params, '/read', { messageID: params.messageID }), options);
}

export function typing(
  transport: Transport,
  params: ConversationParams & Acting,
  options: WriteOptions = {},
): Promise<{ ok: boolean }> {
  return data(transport, onConversation('POST', params, '/typing'), options);
}

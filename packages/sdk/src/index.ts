/**
 * `@concierge/sdk`: the member client. Browser-safe; holds a member token, never an Org-API-Key (that is
 * `@concierge/sdk/server`). Every export is listed here (docs/STYLE.md, pattern 6); `internal/` is not public.
 */
export { Concierge } from './client.js';
export type { ConciergeOptions } from './client.js';
export type {
  ConversationParams,
  ListMessages,
  ListMessagesParams,
  ListMessagesQuery,
  MarkReadParams,
  OpenConversationParams,
  SendMessage,
  SendMessageParams,
  SendResult,
} from './conversation-calls.js';
export {
  ConciergeError,
  APIError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  ValidationError,
  RateLimitError,
  ServerError,
  NetworkError,
  TimeoutError,
  AbortError,
  RefreshError,
} from './core/errors.js';
export { MessagePages } from './core/pagination.js';
export { LiveStream } from './core/streams.js';
export type { ResumeParams, StreamOptions } from './core/streams.js';
export type { StreamStatus } from './internal/sse.js';
export type { RefreshHook, RefreshResult } from './internal/credentials.js';
export type { RequestOptions, WriteOptions } from './internal/transport.js';
export type {
  Conversation,
  ConversationEvent,
  ErrorBody,
  ExchangeResponse,
  ListConversationsResponse,
  ListMessagesResponse,
  MarkReadResponse,
  Member,
  Message,
  MessageEvent,
  MessageType,
  ReadEvent,
  SendMessageResponse,
  StreamEvent,
  StreamEventMap,
  StreamEventType,
  StreamTicket,
  TypingEvent,
} from '@concierge/protocol';

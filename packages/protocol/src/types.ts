import type { z } from 'zod';
import type { errorBodySchema } from './contract/errors.js';
import type { STREAM_EVENTS } from './contract/operations/streams.js';
import type {
  actorSchema,
  agentOrgSchema,
  agentRoleSchema,
  agentSchema,
  agentSessionSchema,
  conversationStateSchema,
  conversationStatusSchema,
  createAgentResponse,
  inboxCountsSchema,
  inboxItemSchema,
  inboxPageSchema,
  listAgentSessionsResponse,
  listAgentsResponse,
  listTeammatesResponse,
  noteEventSchema,
  notesPageSchema,
  noteSchema,
  revokeAgentSessionResponse,
  revokeAgentSessionsResponse,
  serverLimitsSchema,
  signedInSchema,
  teammateSchema,
} from './contract/team.js';
import type {
  createdWebhookSchema,
  deleteWebhookResponse,
  listWebhookDeliveriesResponse,
  listWebhooksResponse,
  memberDeletedEventSchema,
  replayWebhooksResponse,
  rotateWebhookSecretResponse,
  WEBHOOK_BODIES,
  WEBHOOK_PAYLOADS,
  webhookDeliverySchema,
  webhookDeliveryStatusSchema,
  webhookEndpointSchema,
  webhookEnvironmentSchema,
  webhookTestEventSchema,
} from './contract/webhook-shapes.js';
import type {
  archiveMemberResponse,
  conversationEventSchema,
  conversationSchema,
  eraseMemberResponse,
  exchangeResponse,
  listConversationsResponse,
  listMembersResponse,
  listMessagesResponse,
  memberSchema,
  messageEventSchema,
  messageSchema,
  okResponse,
  readEventSchema,
  readResponse,
  revokeTokensResponse,
  sendMessageResponse,
  streamTicketResponse,
  typingEventSchema,
  webhookDisabledEventSchema,
} from './contract/wire.js';

/**
 * Every wire type, inferred from its schema in contract/ (what the server validates and documents), so a shape is
 * declared once. Type-only: importing these costs a browser bundle no byte, and pulls no zod code in.
 */

// The member side.
export type Message = z.output<typeof messageSchema>;
export type Conversation = z.output<typeof conversationSchema>;
export type Member = z.output<typeof memberSchema>;
export type ListMembersResponse = z.output<typeof listMembersResponse>;
export type ArchiveMemberResponse = z.output<typeof archiveMemberResponse>;
export type EraseMemberResponse = z.output<typeof eraseMemberResponse>;
export type RevokeTokensResponse = z.output<typeof revokeTokensResponse>;
export type ListConversationsResponse = z.output<typeof listConversationsResponse>;
export type ListMessagesResponse = z.output<typeof listMessagesResponse>;
/** The document's name (`MessagePage`) for `ListMessagesResponse`. */
export type MessagePage = ListMessagesResponse;
export type SendMessageResponse = z.output<typeof sendMessageResponse>;
export type ExchangeResponse = z.output<typeof exchangeResponse>;
export type MarkReadResponse = z.output<typeof readResponse>;
export type StreamTicket = z.output<typeof streamTicketResponse>;
export type OkResponse = z.output<typeof okResponse>;
export type ErrorBody = z.output<typeof errorBodySchema>;

// Events of the one-connection stream (`GET /v1/stream`): `event:` is the type, `data:` the payload. See docs/sse.md.
export type MessageEvent = z.output<typeof messageEventSchema>;
export type ConversationEvent = z.output<typeof conversationEventSchema>;
export type ReadEvent = z.output<typeof readEventSchema>;
export type TypingEvent = z.output<typeof typingEventSchema>;

// The team.
export type AgentRole = z.output<typeof agentRoleSchema>;
export type Agent = z.output<typeof agentSchema>;
export type AgentOrg = z.output<typeof agentOrgSchema>;
export type SignedIn = z.output<typeof signedInSchema>;
export type ServerLimits = z.output<typeof serverLimitsSchema>;
export type Teammate = z.output<typeof teammateSchema>;
export type ListTeammatesResponse = z.output<typeof listTeammatesResponse>;
export type CreateAgentResponse = z.output<typeof createAgentResponse>;
export type AgentSession = z.output<typeof agentSessionSchema>;
export type ListAgentsResponse = z.output<typeof listAgentsResponse>;
export type ListAgentSessionsResponse = z.output<typeof listAgentSessionsResponse>;
export type RevokeAgentSessionsResponse = z.output<typeof revokeAgentSessionsResponse>;
export type RevokeAgentSessionResponse = z.output<typeof revokeAgentSessionResponse>;
export type ConversationStatus = z.output<typeof conversationStatusSchema>;
export type Actor = z.output<typeof actorSchema>;
export type ConversationState = z.output<typeof conversationStateSchema>;
export type InboxItem = z.output<typeof inboxItemSchema>;
export type InboxPage = z.output<typeof inboxPageSchema>;
export type InboxCounts = z.output<typeof inboxCountsSchema>;
export type Note = z.output<typeof noteSchema>;
export type NotesPage = z.output<typeof notesPageSchema>;
export type NoteEvent = z.output<typeof noteEventSchema>;

// Webhooks.
export type WebhookEnvironment = z.output<typeof webhookEnvironmentSchema>;
export type WebhookEndpoint = z.output<typeof webhookEndpointSchema>;
export type CreatedWebhookEndpoint = z.output<typeof createdWebhookSchema>;
export type WebhookDeliveryStatus = z.output<typeof webhookDeliveryStatusSchema>;
export type WebhookDelivery = z.output<typeof webhookDeliverySchema>;
export type ListWebhooksResponse = z.output<typeof listWebhooksResponse>;
export type DeleteWebhookResponse = z.output<typeof deleteWebhookResponse>;
export type RotateWebhookSecretResponse = z.output<typeof rotateWebhookSecretResponse>;
export type ListWebhookDeliveriesResponse = z.output<typeof listWebhookDeliveriesResponse>;
export type ReplayWebhookResponse = z.output<typeof replayWebhooksResponse>;
export type MemberDeletedEvent = z.output<typeof memberDeletedEventSchema>;
export type WebhookTestEvent = z.output<typeof webhookTestEventSchema>;
/** The `webhook.disabled` event of `GET /v1/stream` (org scope). */
export type WebhookDisabledEvent = z.output<typeof webhookDisabledEventSchema>;

export type WebhookEventDataMap = { [K in keyof typeof WEBHOOK_PAYLOADS]: z.output<(typeof WEBHOOK_PAYLOADS)[K]> };

/** The body of one webhook delivery. */
export type WebhookEvent = {
  [K in keyof typeof WEBHOOK_BODIES]: z.output<(typeof WEBHOOK_BODIES)[K]>;
}[keyof typeof WEBHOOK_BODIES];

/** The data of each named event a client handles on `GET /v1/stream` (team-only ones included). */
export type StreamEventMap = { [K in keyof typeof STREAM_EVENTS]: z.output<(typeof STREAM_EVENTS)[K]> };

export type StreamEventType = keyof StreamEventMap;

/** `id` is the resume point (pass it back as `after`); typing events are not stored and carry none. */
export type StreamEvent = {
  [K in StreamEventType]: { type: K; id: string | null; data: StreamEventMap[K] };
}[StreamEventType];

/**
 * `@concierge/sdk/server`: the server client for the org's backend (Org-API-Key), and `verifyWebhook` for its
 * webhook receivers. It shares the member client's errors and types, re-exported here so a backend imports from
 * one place.
 */
export { ConciergeServer } from './server-client.js';
export type {
  ConciergeServerOptions,
  DeleteWebhookResponse,
  ListWebhooksResponse,
  RemoveMemberResponse,
  ReplayWebhookResponse,
  RotateWebhookSecretResponse,
  WebhookParams,
} from './server-client.js';
export type { ForMember, ServerSendMessageParams } from './conversation-calls.js';
export { CursorPages, MemberPages, WebhookDeliveryPages } from './core/pagination.js';
export type { ListWebhookDeliveriesResponse } from './core/pagination.js';
export { verifyWebhook } from './core/webhook-verification.js';
export type { VerifyWebhookOptions, WebhookHeaders } from './core/webhook-verification.js';
export { WebhookVerificationError } from './core/errors.js';
export type { WebhookVerificationReason } from './core/errors.js';
export type {
  ArchiveMemberResponse,
  CreateWebhookParams,
  JsonValue,
  MemberProfile,
  MemberUpdate,
  RemoveMemberQuery,
  UpdateWebhookParams,
  WebhookEventSelector,
  ListMembersResponse,
  CreatedWebhookEndpoint,
  MemberDeletedEvent,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEnvironment,
  WebhookEvent,
  WebhookEventDataMap,
  WebhookEventType,
  WebhookTestEvent,
} from '@concierge/protocol';
export * from './index.js';

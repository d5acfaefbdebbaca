import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Protocol from '@concierge/protocol';
import type * as Sdk from '@concierge/sdk';
import type * as SdkServer from '@concierge/sdk/server';

/**
 * The SDK's public wire types are `@concierge/protocol`'s, re-exported (`import type`, so no byte reaches a bundle).
 * These compile-time checks fail the build (`tsc -b` in `npm test`) if a local copy ever comes back and drifts.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks = [
  true satisfies Same<Sdk.Message, Protocol.Message>,
  true satisfies Same<Sdk.Conversation, Protocol.Conversation>,
  true satisfies Same<Sdk.Member, Protocol.Member>,
  true satisfies Same<Sdk.ListConversationsResponse, Protocol.ListConversationsResponse>,
  true satisfies Same<Sdk.ListMessagesResponse, Protocol.ListMessagesResponse>,
  true satisfies Same<Sdk.SendMessageResponse, Protocol.SendMessageResponse>,
  true satisfies Same<Sdk.ExchangeResponse, Protocol.ExchangeResponse>,
  true satisfies Same<Sdk.MessageEvent, Protocol.MessageEvent>,
  true satisfies Same<Sdk.ConversationEvent, Protocol.ConversationEvent>,
  true satisfies Same<Sdk.ReadEvent, Protocol.ReadEvent>,
  true satisfies Same<Sdk.TypingEvent, Protocol.TypingEvent>,
  true satisfies Same<Sdk.StreamEvent, Protocol.StreamEvent>,
  true satisfies Same<Sdk.MarkReadResponse, Protocol.MarkReadResponse>,
  true satisfies Same<Sdk.StreamTicket, Protocol.StreamTicket>,
  true satisfies Same<Sdk.ErrorBody, Protocol.ErrorBody>,
  true satisfies Same<SdkServer.WebhookEvent, Protocol.WebhookEvent>,
  true satisfies Same<SdkServer.WebhookEndpoint, Protocol.WebhookEndpoint>,
  true satisfies Same<SdkServer.CreatedWebhookEndpoint, Protocol.CreatedWebhookEndpoint>,
  true satisfies Same<SdkServer.WebhookDelivery, Protocol.WebhookDelivery>,
  true satisfies Same<Awaited<ReturnType<typeof SdkServer.verifyWebhook>>, Protocol.WebhookEvent>,
  true satisfies Same<SdkServer.ListWebhookDeliveriesResponse, Protocol.ListWebhookDeliveriesResponse>,
  // The server sends the member a conversation belongs to on every conversation; the type says so.
  true satisfies Same<Sdk.Conversation['externalUserID'], string>,
];

test('the SDK wire types match @concierge/protocol (checked by the compiler)', () => {
  assert.equal(checks.length, 22);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Protocol from '@concierge/protocol';
import type * as Sdk from '@concierge/sdk';
import type * as SdkAgent from '@concierge/sdk/agent';
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

/**
 * Every method is `(params, options?)`: what the request carries (path ids, query, body) is a parameter, never an
 * option, so a field added later cannot collide with one. Each line below fails the build if a request field is
 * let into the options again, or a client is let send what its credential may not name.
 */
function requestFieldsAreNeverOptions(
  member: Sdk.Concierge,
  agent: SdkAgent.ConciergeAgent,
  server: SdkServer.ConciergeServer,
): void {
  // @ts-expect-error `authorID` is a body field of the send.
  void server.sendMessage('c', 'text', { authorID: 'agent-1' });
  // @ts-expect-error `externalUserID` is a query field of the send.
  void server.sendMessage({ conversationID: 'c', message: 'text' }, { externalUserID: 'u' });
  // @ts-expect-error a profile is the body of `setMember`.
  void server.setMember({ externalUserID: 'u' }, { displayName: 'U' });
  // @ts-expect-error `retainBalance` is a query field.
  void server.removeMember({ externalUserID: 'u' }, { retainBalance: true });
  // @ts-expect-error a title is the body of a new conversation.
  void member.openConversation({}, { title: 'Lisbon' });
  // @ts-expect-error the resume point is a parameter of the stream.
  void member.streamMessages({ conversationID: 'c' }, { after: 'cursor' });
  // @ts-expect-error options are the second argument.
  void agent.switchOrg({ orgID: 'org', signal: undefined });
  // @ts-expect-error a member token never names an author.
  void member.sendMessage({ conversationID: 'c', message: 'text', authorID: 'agent-1' });
  // @ts-expect-error the messages route reads a member's history: an agent names the member.
  void agent.listMessages({ conversationID: 'c' });
}

test('request fields are parameters, never options (checked by the compiler)', () => {
  assert.equal(requestFieldsAreNeverOptions.length, 3);
});

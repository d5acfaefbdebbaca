import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Protocol from '@concierge/protocol';
import type * as Sdk from '@concierge/sdk';

/**
 * The SDK carries its own copy of the wire types (so the published package depends on nothing private). These
 * compile-time checks fail the build (`tsc -b` in `npm test`) the moment the copy and `@concierge/protocol` drift
 * apart in either direction.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: true[] = [
  true as Same<Sdk.Message, Protocol.Message>,
  true as Same<Sdk.Conversation, Protocol.Conversation>,
  true as Same<Sdk.Member, Protocol.Member>,
  true as Same<Sdk.ListConversationsResponse, Protocol.ListConversationsResponse>,
  true as Same<Sdk.ListMessagesResponse, Protocol.ListMessagesResponse>,
  true as Same<Sdk.SendMessageResponse, Protocol.SendMessageResponse>,
  true as Same<Sdk.ExchangeResponse, Protocol.ExchangeResponse>,
  true as Same<Sdk.MessageEvent, Protocol.MessageEvent>,
  true as Same<Sdk.ConversationEvent, Protocol.ConversationEvent>,
  true as Same<Sdk.ReadEvent, Protocol.ReadEvent>,
  true as Same<Sdk.TypingEvent, Protocol.TypingEvent>,
  true as Same<Sdk.StreamEvent, Protocol.StreamEvent>,
];

test('the SDK wire types match @concierge/protocol (checked by the compiler)', () => {
  assert.equal(checks.length, 12);
});

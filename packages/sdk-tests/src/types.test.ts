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
];

test('the SDK wire types match @concierge/protocol (checked by the compiler)', () => {
  assert.equal(checks.length, 12);
});

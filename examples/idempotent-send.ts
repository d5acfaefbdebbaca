/**
 * Idempotent sends: every `sendMessage` carries one Idempotency-Key, reused on each retry, so a send posts once
 * however flaky the network. An app with an outbox stores its own key with the draft and passes it again after a
 * crash or reload: the server replays the original answer (`replayed: true`) instead of posting twice.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/idempotent-send.js
 */
import { ConflictError, Concierge } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { env } from './env.js';

const { baseURL, apiKey } = env();
const server = new ConciergeServer({ baseURL, apiKey });
const { accessToken, expiresAt } = await server.exchangeToken({ externalUserID: 'example-idempotent' });
const client = new Concierge({ baseURL, token: accessToken, tokenExpiresAt: expiresAt, maxRetries: 4 });
const { id } = await client.openConversation();

// An outbox entry: the draft and the key made for it once, both stored before the first try.
const outbox = { text: 'Please book the 7:40 train.', key: crypto.randomUUID() };

const first = await client.sendMessage({ conversationID: id, message: outbox.text }, { idempotencyKey: outbox.key });
// The app crashed before it could mark the entry sent; on restart it sends the entry again.
const again = await client.sendMessage({ conversationID: id, message: outbox.text }, { idempotencyKey: outbox.key });
console.log(
  `first: ${first.message.id} (replayed ${first.replayed}); again: ${again.message.id} (replayed ${again.replayed})`,
);

const { messages } = await client.listMessages({ conversationID: id });
console.log(`messages in the conversation: ${messages.length}`);
if (messages.length !== 1 || first.message.id !== again.message.id) throw new Error('posted twice');

// A key belongs to one request: reusing it for other text is a conflict, never retried.
try {
  await client.sendMessage({ conversationID: id, message: 'Something else' }, { idempotencyKey: outbox.key });
} catch (error) {
  if (!(error instanceof ConflictError)) throw error;
  console.log(`reused key: ${error.code}`);
}

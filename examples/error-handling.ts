/**
 * Error handling: branch on the error's class and `code`, never on `message`.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/error-handling.js
 */
import {
  APIError,
  Concierge,
  NetworkError,
  NotFoundError,
  RateLimitError,
  RefreshError,
  TimeoutError,
  UnauthorizedError,
  ValidationError,
} from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { env } from './env.js';

const { baseURL, apiKey } = env();
const server = new ConciergeServer({ baseURL, apiKey });
const { accessToken, expiresAt } = await server.exchangeToken({ externalUserID: 'example-errors' });
const client = new Concierge({ baseURL, token: accessToken, tokenExpiresAt: expiresAt });

async function explain(what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
    console.log(`${what}: ok`);
  } catch (error) {
    if (error instanceof NotFoundError) console.log(`${what}: not found (${error.code}), request ${error.requestID}`);
    else if (error instanceof ValidationError) console.log(`${what}: invalid \`${error.field}\` (${error.code})`);
    else if (error instanceof RateLimitError) console.log(`${what}: slow down, retry in ${error.retryAfterMs} ms`);
    else if (error instanceof UnauthorizedError) console.log(`${what}: sign the member in again (${error.code})`);
    else if (error instanceof RefreshError) console.log(`${what}: the refresh hook failed: ${String(error.cause)}`);
    else if (error instanceof TimeoutError || error instanceof NetworkError)
      console.log(`${what}: offline? ${error.message}`);
    else if (error instanceof APIError) console.log(`${what}: ${error.status} ${error.code}`);
    else throw error;
  }
}

await explain('a conversation that does not exist', () =>
  client.listMessages({ conversationID: 'no-such-conversation' }),
);
const conversation = await client.openConversation({ title: 'Errors' });
await explain('an empty message', () => client.sendMessage({ conversationID: conversation.id, message: '' }));
await explain('a forged token', () => new Concierge({ baseURL, token: 'forged', maxRetries: 0 }).listConversations());
await explain('a refresh hook that fails', () =>
  new Concierge({
    baseURL,
    token: accessToken,
    tokenExpiresAt: Date.now() - 1,
    refreshToken: () => Promise.reject(new Error('backend unreachable')),
  }).listConversations(),
);

/**
 * Token refresh: the app holds a short-lived member token and a hook that asks the app's backend for a new one.
 * The SDK calls the hook 30 s before `tokenExpiresAt` (or on a 401), once however many calls need it.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/token-refresh.js
 */
import { Concierge, RefreshError, type ExchangeResponse } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { env } from './env.js';

const { baseURL, apiKey } = env();

// --- On the org's backend: an endpoint the app calls to get a member token (here, a function). ---
const backend = new ConciergeServer({ baseURL, apiKey });
async function tokenEndpoint(externalUserID: string): Promise<ExchangeResponse> {
  // Authenticate your own user first; then mint their Concierge token.
  return backend.exchangeToken({ externalUserID, displayName: 'Ada' });
}

// --- In the app: start with a token, and say how to get the next one. ---
const first = await tokenEndpoint('example-refresh');
let refreshes = 0;
const client = new Concierge({
  baseURL,
  token: first.accessToken,
  tokenExpiresAt: first.expiresAt,
  refreshToken: async () => {
    refreshes++;
    // In a browser this is `fetch('/api/concierge-token').then((r) => r.json())`: it returns {accessToken, expiresAt}.
    return tokenEndpoint('example-refresh');
  },
});

// Pretend the token is about to lapse: the next calls refresh once, together, before they are sent.
client.setToken(first.accessToken, Date.now() + 1_000);
const [a, b, c] = await Promise.all([
  client.listConversations(),
  client.listConversations(),
  client.openConversation(),
]);
console.log(`3 calls, ${refreshes} refresh; ${a.conversations.length + b.conversations.length} listed, opened ${c.id}`);

// A refresh that fails is a RefreshError carrying the hook's error; the SDK does not retry it.
const broken = new Concierge({
  baseURL,
  token: first.accessToken,
  tokenExpiresAt: Date.now(),
  refreshToken: () => {
    throw new Error('signed out');
  },
});
try {
  await broken.listConversations();
} catch (error) {
  if (!(error instanceof RefreshError)) throw error;
  console.log(`refresh failed: ${(error.cause as Error).message}`);
}

/**
 * Paging through a history: await `listMessages` for one page, `for await` it for every message (newest first),
 * or `.pages()` for page after page.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/paging.js
 */
import { Concierge } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { env } from './env.js';

const { baseURL, apiKey } = env();
const server = new ConciergeServer({ baseURL, apiKey });
const { accessToken, expiresAt } = await server.exchangeToken({ externalUserID: 'example-paging' });
const client = new Concierge({ baseURL, token: accessToken, tokenExpiresAt: expiresAt });

const { id } = await client.openConversation({ title: 'A long thread' });
for (let i = 1; i <= 25; i++) await client.sendMessage({ conversationID: id, message: `message ${i}` });

// One page: the newest 10, and the cursor of the next (older) page.
const page = await client.listMessages({ conversationID: id, limit: 10 });
console.log(
  `first page: ${page.messages.length} messages, newest "${page.messages[0]?.body}", more: ${page.nextCursor !== null}`,
);

// Page by page, as an "older messages" button would.
let pages = 0;
for await (const p of client.listMessages({ conversationID: id, limit: 10 }).pages()) {
  pages++;
  console.log(`page ${pages}: ${p.messages.map((m) => m.body).join(', ')}`);
}

// Every message, fetched page by page as the loop goes.
let count = 0;
for await (const message of client.listMessages({ conversationID: id, limit: 10 })) {
  if (message.body?.startsWith('message ')) count++;
}
console.log(`${count} messages in ${pages} pages`);
if (count !== 25 || pages !== 3) throw new Error('paging went wrong');

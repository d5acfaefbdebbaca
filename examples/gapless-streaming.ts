/**
 * Gapless streaming: `syncMessages` shows the latest page of history and then goes live, with nothing missed or
 * repeated between the two, and resumes by itself after any drop. `lastEventID` lets an app continue after a
 * restart with `streamMessages(id, { after })`.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/gapless-streaming.js
 */
import { Concierge } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { env } from './env.js';

const { baseURL, apiKey } = env();
const server = new ConciergeServer({ baseURL, apiKey });
const { accessToken, expiresAt } = await server.exchangeToken({ externalUserID: 'example-stream' });
const client = new Concierge({ baseURL, token: accessToken, tokenExpiresAt: expiresAt });

const { id } = await client.openConversation({ title: 'Live' });
await client.sendMessage({ conversationID: id, message: 'I would like a table for two tonight.' });

// The concierge answers a moment later, from the org's backend.
setTimeout(() => {
  void (async () => {
    await server.sendMessage({
      conversationID: id,
      message: 'Of course. 8 pm at Cervejaria Ramiro?',
      authorID: 'agent-ana',
    });
    await server.sendMessage({ conversationID: id, message: 'Booked. Enjoy!', authorID: 'agent-ana' });
  })();
}, 200);

const sync = client.syncMessages({ conversationID: id, limit: 20 });
const seen: string[] = [];
for await (const message of sync) {
  const who = message.authorID === 'example-stream' ? 'me' : message.authorID;
  console.log(`${who}: ${message.body}`);
  seen.push(message.body ?? '');
  if (seen.length === 3) break; // leaving the loop closes the connection
}

// Later (even after an app restart): continue exactly after the last message seen.
const resumeFrom = sync.lastEventID!;
await server.sendMessage({
  conversationID: id,
  message: 'One more thing: they close at midnight.',
  authorID: 'agent-ana',
});
for await (const message of client.streamMessages({ conversationID: id, after: resumeFrom })) {
  console.log(`resumed: ${message.body}`);
  break;
}

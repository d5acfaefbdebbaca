/**
 * A webhook receiver: check every delivery with `verifyWebhook`, act on each event once (deliveries are at least
 * once: the same `webhook-id` can arrive again after a retry, a timeout or a replay), and answer 2xx quickly.
 *
 *   CONCIERGE_URL=http://127.0.0.1:8080 CONCIERGE_API_KEY=ck_live_… node examples/dist/webhook-receiver.js
 *
 * Run like that it is a demo: it listens on a free loopback port, registers itself as an endpoint (so the server
 * must run with `--webhooks-allow-http --webhooks-allow-private`; in production the URL is public https), makes
 * one event of each kind it handles, asks for one delivery again to show the dedupe, and exits once all arrived.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConciergeServer, verifyWebhook, WebhookVerificationError, type WebhookEvent } from '@concierge/sdk/server';
import { env } from './env.js';

/**
 * Ids already handled. In production this is a table with a unique key on the id, written in the same
 * transaction as the work the event causes, and kept at least as long as retries and replays can reach back; an
 * in-memory set forgets on restart, which is enough for a demo only.
 */
const handled = new Set<string>();
let secret = process.env.CONCIERGE_WEBHOOK_SECRET ?? '';

async function onEvent(event: WebhookEvent): Promise<void> {
  // Switch on `type` and ignore the ones you do not know: a newer server may send more.
  switch (event.type) {
    case 'conversation.message_created':
      console.log(
        `message in ${event.data.conversationID} from ${event.data.message.authorID}: ${event.data.message.body}`,
      );
      break;
    case 'webhook.test':
      console.log(`test event for endpoint ${event.data.endpointID}`);
      break;
    default:
      console.log(`ignored ${event.type}`);
  }
}

async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The raw bytes, exactly as sent: a body parsed and serialised again would not verify.
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let event: WebhookEvent;
  try {
    event = await verifyWebhook(Buffer.concat(chunks), req.headers, secret);
  } catch (error) {
    // Not from the server, changed on the way, or too old to be anything but a replay: refuse, and do nothing.
    if (error instanceof WebhookVerificationError) {
      console.log(`refused a delivery: ${error.reason}`);
      res.writeHead(400).end();
      return;
    }
    throw error;
  }
  const id = req.headers['webhook-id'] as string;
  if (handled.has(id)) {
    console.log(`duplicate ${id}: already handled, acknowledged again`);
  } else {
    await onEvent(event);
    handled.add(id);
  }
  // Answer fast: anything slow belongs in a queue of your own. A non-2xx (or no answer in 15 s) is retried.
  res.writeHead(204).end();
  arrivals.push(id);
  wake();
}

const arrivals: string[] = [];
let wake = () => {};
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise<void>((resolve) => (wake = resolve));
}

const receiver = createServer((req, res) => {
  receive(req, res).catch((error: unknown) => {
    console.error(error);
    res.writeHead(500).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;

// The demo: register, then make the server deliver.
const { baseURL, apiKey } = env();
const server = new ConciergeServer({ baseURL, apiKey });
const endpoint = await server.createWebhook({ url, events: ['conversation.message_created'] });
secret = endpoint.signingSecret;
console.log(`listening on ${url} as endpoint ${endpoint.id}`);

const test = await server.testWebhook({ webhookID: endpoint.id });
const { id: conversationID } = await server.openConversation({ externalUserID: 'example-webhooks' });
await server.sendMessage({
  conversationID,
  message: 'A table for two at eight, please.',
  externalUserID: 'example-webhooks',
});
await until(() => arrivals.length >= 2);

// Ask for the test delivery again: it arrives with the same webhook-id, and the receiver does not act twice. A
// retry asks a finished delivery for one more attempt, so first wait until the server has recorded the first one.
const status = async () =>
  (await server.listWebhookDeliveries({ webhookID: endpoint.id })).data.find((d) => d.id === test.id)?.status;
while ((await status()) !== 'delivered') await new Promise((resolve) => setTimeout(resolve, 50));
await server.retryWebhookDelivery({ webhookID: endpoint.id, deliveryID: test.id });
await until(() => arrivals.length >= 3);
if (handled.size !== 2 || arrivals.filter((a) => a === test.id).length !== 2) throw new Error('dedupe went wrong');

await server.deleteWebhook({ webhookID: endpoint.id });
receiver.closeAllConnections();
receiver.close();

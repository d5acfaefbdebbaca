import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { NotFoundError } from '@concierge/sdk';
import {
  ConciergeServer,
  verifyWebhook,
  WebhookVerificationError,
  type CreatedWebhookEndpoint,
  type WebhookDelivery,
  type WebhookEvent,
} from '@concierge/sdk/server';
import { Api, Changes, STORES, until, withServer, type TestServer } from '@concierge/tests/harness';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A real receiver on loopback: it keeps every delivery as it arrived (raw bytes) and answers 204. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  readonly changes = new Changes();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.deliveries.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
        this.changes.notify();
      });
    });
  }

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  at(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path);
  }

  async wait(path: string, n: number): Promise<Delivery[]> {
    await this.changes.until(() => this.at(path).length >= n, `${n} deliveries to ${path}`);
    return this.at(path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

for (const store of STORES) {
  describe(`the SDK's webhook calls and verifyWebhook against the real server (${store.name})`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let admin: ConciergeServer;
    let receiver: Receiver;
    let paths = 0;
    /** A new endpoint on a path of its own, so each test sees only its own deliveries. */
    const endpoint = async (events: string[] = ['conversation.message_created']) => {
      const path = `/hook-${++paths}`;
      const created = await admin.createWebhook({ url: receiver.url(path), events, description: `test ${paths}` });
      return { path, created };
    };

    before(async () => {
      ({ server, close } = await withServer(store, {
        args: ['--rate-limit', '0', '--webhooks-allow-http', '--webhooks-allow-private'],
      }));
      admin = new ConciergeServer({ baseURL: server.url, apiKey: server.org.apiKey });
      receiver = await Receiver.start();
    });
    after(async () => {
      await receiver?.close();
      await close?.();
    });

    test('createWebhook, listWebhooks, getWebhook, updateWebhook and deleteWebhook', async () => {
      const { created } = await endpoint();
      assert.match(created.signingSecret, /^whsec_/);
      assert.equal(created.environment, 'LIVE');
      assert.equal(created.description, 'test 1');
      const { data } = await admin.listWebhooks();
      const listed = data.find((e) => e.id === created.id);
      assert.ok(listed !== undefined);
      assert.equal((listed as Partial<CreatedWebhookEndpoint>).signingSecret, undefined);
      assert.equal((await admin.getWebhook({ webhookID: created.id })).url, created.url);
      const updated = await admin.updateWebhook({ webhookID: created.id, events: ['*'], description: null });
      assert.deepEqual(updated.events, ['*']);
      assert.equal(updated.description, null);
      const disabled = await admin.updateWebhook({ webhookID: created.id, enabled: false });
      assert.notEqual(disabled.disabledAt, null);
      assert.equal((await admin.updateWebhook({ webhookID: created.id, enabled: true })).disabledAt, null);
      assert.deepEqual(await admin.deleteWebhook(created.id), { id: created.id, ok: true });
      assert.notEqual((await admin.getWebhook({ webhookID: created.id })).disabledAt, null);
      await assert.rejects(admin.getWebhook({ webhookID: 'whk_nope' }), NotFoundError);
      const { accessToken } = await admin.exchangeToken({ externalUserID: 'not-an-admin' });
      const asMember = await new Api(server.url).get('/v1/webhooks', { token: accessToken });
      assert.equal(asMember.status, 403);
    });

    test('a delivery verifies with verifyWebhook (and the reference), and carries the message as the API shows it', async () => {
      const { path, created } = await endpoint();
      const { id } = await admin.openConversation({ externalUserID: 'hooked' });
      const sent = await admin.sendMessage({
        conversationID: id,
        message: 'Ping the on-call concierge',
        externalUserID: 'hooked',
      });
      const [delivery] = await receiver.wait(path, 1);
      const event: WebhookEvent = await verifyWebhook(delivery!.body, delivery!.headers, created.signingSecret);
      assert.equal(event.type, 'conversation.message_created');
      if (event.type !== 'conversation.message_created') return;
      assert.equal(event.data.conversationID, id);
      assert.deepEqual(event.data.message, sent.message);
      const headers = delivery!.headers as Record<string, string>;
      assert.deepEqual(new Webhook(created.signingSecret).verify(delivery!.body, headers), event);
      // The same delivery, one byte changed, does not verify.
      const changed = Buffer.from(delivery!.body);
      changed[changed.length - 2] = changed[changed.length - 2]! ^ 1;
      await assert.rejects(verifyWebhook(changed, delivery!.headers, created.signingSecret), WebhookVerificationError);
    });

    test('after rotateWebhookSecret a delivery carries two signatures: the old and the new secret both verify it', async () => {
      const { path, created } = await endpoint();
      const rotated = await admin.rotateWebhookSecret({ webhookID: created.id });
      assert.notEqual(rotated.signingSecret, created.signingSecret);
      assert.ok(Date.parse(rotated.previousSecretExpiresAt) > Date.now());
      const test = await admin.testWebhook({ webhookID: created.id });
      const [delivery] = await receiver.wait(path, 1);
      assert.equal(delivery!.headers['webhook-id'], test.id);
      assert.equal(String(delivery!.headers['webhook-signature']).split(' ').length, 2);
      for (const secret of [created.signingSecret, rotated.signingSecret]) {
        const event = await verifyWebhook(delivery!.body, delivery!.headers, secret);
        assert.equal(event.type, 'webhook.test');
      }
    });

    test('listWebhookDeliveries pages newest first; for await reaches every delivery', async () => {
      const { path, created } = await endpoint();
      const { id } = await admin.openConversation({ externalUserID: 'paged' });
      for (let i = 0; i < 5; i++)
        await admin.sendMessage({ conversationID: id, message: `m${i}`, externalUserID: 'paged' });
      await receiver.wait(path, 5);
      // The receiver has the requests; the server records each as delivered once it has read the 204.
      const recorded = async () => {
        const seen: WebhookDelivery[] = [];
        for await (const d of admin.listWebhookDeliveries({ webhookID: created.id, limit: 2 })) seen.push(d);
        return seen.length === 5 && seen.every((d) => d.status === 'delivered');
      };
      await until(recorded, 'every delivery recorded as delivered');
      const first = await admin.listWebhookDeliveries({ webhookID: created.id, limit: 2 });
      assert.equal(first.data.length, 2);
      assert.notEqual(first.nextCursor, null);
      const all: WebhookDelivery[] = [];
      for await (const d of admin.listWebhookDeliveries({ webhookID: created.id, limit: 2 })) all.push(d);
      assert.equal(all.length, 5);
      assert.equal(new Set(all.map((d) => d.id)).size, 5);
      const times = all.map((d) => Date.parse(d.createdAt));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      const ids = receiver.at(path).map((d) => String(d.headers['webhook-id']));
      assert.deepEqual(new Set(all.map((d) => d.id)), new Set(ids), 'a delivery id is its webhook-id header');
      assert.ok(all.every((d) => d.status === 'delivered' && d.lastStatusCode === 204 && d.attempts >= 1));
    });

    test('retryWebhookDelivery sends again with the same webhook-id; replayWebhook re-sends since an instant', async () => {
      const { path, created } = await endpoint(['*']);
      const since = new Date();
      const test = await admin.testWebhook({ webhookID: created.id });
      await receiver.wait(path, 1);
      // A retry asks a finished delivery for one more attempt: wait until the server has recorded the first.
      const delivered = async () =>
        (await admin.listWebhookDeliveries({ webhookID: created.id })).data.find((d) => d.id === test.id)?.status ===
        'delivered';
      await until(delivered, 'the test delivery recorded as delivered');
      await admin.retryWebhookDelivery({ webhookID: created.id, deliveryID: test.id });
      const twice = await receiver.wait(path, 2);
      assert.equal(twice[1]!.headers['webhook-id'], twice[0]!.headers['webhook-id']);
      const replay = await admin.replayWebhook({ webhookID: created.id, since });
      assert.ok(replay.count >= 1, JSON.stringify(replay));
      const again = await receiver.wait(path, 2 + replay.count);
      assert.ok(again.slice(2).every((d) => d.headers['webhook-id'] === test.id));
    });
  });
}

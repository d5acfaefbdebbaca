import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Api, Receiver, selfSigned, STORES, TestServer, until, withServer, type SelfSigned } from './harness/index.js';

/**
 * Webhooks over https, as they run in production: without --webhooks-allow-http, to a receiver whose certificate
 * the server trusts through NODE_EXTRA_CA_CERTS (a self-signed one made at test time), and to one it does not trust.
 * --webhooks-allow-private only lets the receivers be on loopback.
 */
const ARGS = [
  '--webhooks-allow-private',
  '--rate-limit',
  '0',
  '--webhook-retry-schedule',
  '0,0.2,0.2,0.2',
  '--webhook-poll',
  '0.1',
  '--webhook-timeout',
  '2',
  '--webhook-lease',
  '4',
];

interface Delivery {
  id: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

for (const store of STORES) {
  describe(`webhooks over https [${store.name}]`, () => {
    let trusted: SelfSigned;
    let untrusted: SelfSigned;
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      trusted = await selfSigned();
      untrusted = await selfSigned();
      ({ server, close } = await withServer(store, {
        args: ARGS,
        env: { NODE_EXTRA_CA_CERTS: trusted.certFile },
      }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(async () => {
      await close();
      await trusted.remove();
      await untrusted.remove();
    });

    const deliveries = async (endpointID: string) =>
      (await api.get(`/v1/webhooks/${endpointID}/deliveries`, { token: key })).json.data as Delivery[];

    test('an http URL is refused without --webhooks-allow-http', async () => {
      const r = await api.post('/v1/webhooks', { token: key, body: { url: 'http://127.0.0.1:9/x', events: ['*'] } });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, 'WEBHOOK_URL_REFUSED');
    });

    test('a receiver whose certificate is trusted gets the delivery over TLS, signed', async () => {
      const receiver = await Receiver.start('/hook', trusted);
      try {
        const created = await api.post('/v1/webhooks', {
          token: key,
          body: { url: receiver.url, events: ['conversation.message_created'] },
        });
        assert.equal(created.status, 201, created.text);
        assert.match(receiver.url, /^https:/);
        const token = await api.memberToken(key, 'tls-member');
        const conv = await api.openConversation(token);
        const sent = await api.send(token, conv, 'over TLS');
        assert.equal(sent.status, 200);
        await receiver.until(() => receiver.received.length >= 1, 'the delivery over https');
        const r = receiver.received[0]!;
        const event = new Webhook(created.json.signingSecret).verify(r.body, r.headers as Record<string, string>);
        assert.deepEqual(event, JSON.parse(r.body));
        assert.deepEqual(JSON.parse(r.body).data, { conversationID: conv, message: sent.json.message });
        await until(async () => {
          const list = await deliveries(created.json.id);
          return list.length === 1 && list.every((d) => d.status === 'delivered');
        }, 'the delivery recorded as delivered');
        assert.equal((await deliveries(created.json.id))[0]!.lastStatusCode, 200);
      } finally {
        await receiver.close();
      }
    });

    test('a certificate the server does not trust is a failed attempt, retried, and the server goes on', async () => {
      const receiver = await Receiver.start('/hook', untrusted);
      try {
        const created = await api.post('/v1/webhooks', { token: key, body: { url: receiver.url, events: ['*'] } });
        assert.equal(created.status, 201, created.text);
        const test = await api.post(`/v1/webhooks/${created.json.id}/test`, { token: key });
        assert.equal(test.status, 202, test.text);
        await until(async () => {
          const d = (await deliveries(created.json.id)).find((x) => x.id === test.json.id);
          return d !== undefined && d.attempts >= 2;
        }, 'the delivery attempted again after the TLS failure');
        const d = (await deliveries(created.json.id)).find((x) => x.id === test.json.id)!;
        assert.equal(d.lastStatusCode, null);
        assert.match(String(d.lastError), /cert|self.signed|verify/i);
        // The TLS handshake failed: no request reached the receiver.
        assert.equal(receiver.received.length, 0);
        assert.equal((await api.get('/v1/webhooks', { token: key })).status, 200);
      } finally {
        await receiver.close();
      }
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { acrossStores, Api, errorCode, Receiver, TestServer, until, withServer } from './harness/index.js';
import { createEndpoint, FAST, PERMISSIVE } from './webhook-fixtures.js';

/** Webhook URLs that would reach the server's own network are refused, at creation and again at connect time. */

acrossStores((store) => {
  describe(`webhook SSRF refusals [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;

    before(async () => {
      ({ server, close } = await withServer(store, { args: [...FAST] }));
      api = new Api(server.url);
    });
    after(async () => close());

    test('http, loopback, private, link-local and metadata URLs are refused at creation', async () => {
      for (const url of [
        'http://example.com/hook',
        'https://127.0.0.1/hook',
        'https://localhost/hook',
        'https://[::1]/hook',
        'https://10.1.2.3/hook',
        'https://192.168.0.1/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://[::ffff:127.0.0.1]/hook',
        'https://0.0.0.0/hook',
      ]) {
        const r = await api.post('/v1/webhooks', { token: server.org.apiKey, body: { url, events: ['*'] } });
        assert.equal(r.status, 422, `${url}: ${r.text}`);
        assert.equal(errorCode(r), 'WEBHOOK_URL_REFUSED', url);
        assert.equal(r.json.error.field, 'url');
      }
    });

    test('a name that resolves to loopback is refused again at connect time', async () => {
      const receiver = await Receiver.start();
      const db = await store.fresh();
      // The endpoint is accepted by a server that allows private addresses; the next one on the same database does
      // not, so only the connect-time check stands between the delivery and the loopback receiver.
      const permissive = await TestServer.start(db.url, { args: [...PERMISSIVE, ...FAST] });
      const key = permissive.org.apiKey;
      let strict: TestServer | null = null;
      try {
        const endpoint = await createEndpoint(new Api(permissive.url), key, `http://localhost:${receiver.port}/hook`);
        await permissive.stop();
        strict = await TestServer.start(db.url, { args: ['--webhooks-allow-http', ...FAST] });
        const sapi = new Api(strict.url);
        assert.equal((await sapi.post(`/v1/webhooks/${endpoint.id}/test`, { token: key })).status, 202);
        let d: any;
        await until(async () => {
          d = (await sapi.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data[0];
          return d?.attempts >= 1;
        }, 'the refused attempt recorded');
        assert.match(d.lastError, /address refused/);
        assert.equal(d.lastStatusCode, null);
        assert.equal(receiver.received.length, 0);
      } finally {
        await strict?.stop();
        await permissive.stop();
        await receiver.close();
        await db.drop();
      }
    });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OPERATIONS, type Operation } from '@concierge/protocol/contract';
import {
  acrossStores,
  Api,
  firstAdmin,
  linkToken,
  PASSWORD,
  refreshCookie,
  setup,
  TestServer,
  withServer,
  type CallResult,
} from './harness/index.js';
import { PERMISSIVE } from './webhook-fixtures.js';

/**
 * Answers that carry a credential or a secret are sent with `Cache-Control: no-store`, so no browser cache, proxy or
 * CDN keeps a token, a ticket, a signing secret or a sign-in link; an idempotent replay of one is such an answer too.
 */

/** A field of a success answer that is a credential or a secret by its name. */
const SECRET_FIELD = /token$|secret$|^ticket$|link$/i;

function noStore(r: CallResult, what: string): void {
  assert.ok(r.status < 300, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.headers.get('cache-control'), 'no-store', what);
}

test('every operation whose success carries a secret is marked noStore in the table, and no other', () => {
  for (const o of Object.values(OPERATIONS) as Operation[]) {
    const fields = Object.entries(o.response)
      .filter(([status]) => Number(status) < 300)
      .flatMap(([, schema]) => Object.keys((schema as { shape?: object }).shape ?? {}));
    const secret = fields.some((f) => SECRET_FIELD.test(f));
    assert.equal(o.noStore === true, secret, `${o.operationId} (${fields.join(', ')})`);
  }
});

acrossStores((store) => {
  describe(`no-store on answers that carry secrets [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: PERMISSIVE }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    test('the member-token exchange, and its idempotent replay', async () => {
      const call = () =>
        api.post('/v1/auth/exchange', {
          token: key,
          body: { externalUserID: 'cached' },
          headers: { 'idempotency-key': 'exchange-no-store' },
        });
      noStore(await call(), 'exchange');
      const replay = await call();
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      noStore(replay, 'exchange replayed');
    });

    test('a stream ticket', async () => {
      const token = await api.memberToken(key, 'ticketed');
      noStore(await api.post('/v1/stream-tickets', { token }), 'stream ticket');
    });

    test('webhook creation and secret rotation, and the rotation replayed', async () => {
      const created = await api.post('/v1/webhooks', {
        token: key,
        body: { url: 'http://127.0.0.1:9/hook', events: ['*'] },
      });
      noStore(created, 'create webhook');
      const rotate = () =>
        api.post(`/v1/webhooks/${created.json.id}/rotate-secret`, {
          token: key,
          headers: { 'idempotency-key': 'rotate-no-store' },
        });
      noStore(await rotate(), 'rotate secret');
      const replay = await rotate();
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      noStore(replay, 'rotate secret replayed');
    });

    test('agent creation, setup, sign-in, refresh and switching orgs', async () => {
      const admin = await firstAdmin(api, server);
      noStore(admin.response, 'setup');
      const other = await server.createOrg('Other');
      const links: string[] = [];
      for (const org of [key, other.apiKey]) {
        const created = await api.post('/v1/agents', {
          token: org,
          body: { email: 'two@orgs.example', name: 'Two' },
        });
        noStore(created, 'create agent');
        links.push(created.json.signInLink as string);
      }
      for (const link of links) await setup(api, linkToken(link), PASSWORD);
      const signedIn = await api.post('/v1/agent-auth/sign-in', {
        body: { email: 'two@orgs.example', password: PASSWORD },
      });
      noStore(signedIn, 'sign-in');
      const refreshed = await api.post('/v1/agent-auth/refresh', { headers: { cookie: refreshCookie(signedIn) } });
      noStore(refreshed, 'refresh');
      const switched = await api.post('/v1/agent-auth/switch', {
        token: refreshed.json.accessToken,
        body: { orgID: other.orgID },
      });
      noStore(switched, 'switch org');
    });

    test('answers without a secret keep the default caching headers', async () => {
      const r = await api.get('/v1/webhooks', { token: key });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), null);
    });
  });
});

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Api, cli, cliRun, errorCode, HostedSDKClient, STORES, withServer, type TestServer } from './harness/index.js';

interface CreatedKey {
  orgID: string;
  keyID: string;
  apiKey: string;
  prefix: string;
}

async function createKey(server: TestServer, prefix: string): Promise<CreatedKey> {
  const args = ['keys', 'create', '--org', server.org.orgID, '--prefix', prefix, '--json'];
  return JSON.parse((await cli(args, server.databaseURL)).stdout) as CreatedKey;
}

for (const store of STORES) {
  describe(`Org-API-Key prefixes and the hosted API's SDK [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let live: CreatedKey;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      live = await createKey(server, 'expys_live_');
    });
    after(() => close());

    test('keys create --prefix records the prefix with the key, and keys list shows it', async () => {
      assert.match(live.apiKey, /^expys_live_[A-Za-z0-9_-]{43}$/);
      assert.equal(live.prefix, 'expys_live_');
      const sandbox = await createKey(server, 'expys_sandbox_');
      assert.match(sandbox.apiKey, /^expys_sandbox_[A-Za-z0-9_-]{43}$/);
      const listed = JSON.parse(
        (await cli(['keys', 'list', '--org', server.org.orgID, '--json'], server.databaseURL)).stdout,
      ) as Array<{ keyID: string; hint: string; prefix: string }>;
      const prefixOf = (id: string) => listed.find((k) => k.keyID === id)?.prefix;
      assert.equal(prefixOf(live.keyID), 'expys_live_');
      assert.equal(prefixOf(sandbox.keyID), 'expys_sandbox_');
      assert.ok(
        listed.some((k) => k.prefix === 'ck_live_'),
        'the first key keeps the default prefix',
      );
      for (const k of listed) assert.ok(k.hint.startsWith(k.prefix) && !k.hint.includes(live.apiKey), k.hint);
      const text = (await cli(['keys', 'list', '--org', server.org.orgID], server.databaseURL)).stdout;
      assert.match(text, new RegExp(`^${live.keyID}\\t.*\\texpys_live_$`, 'm'));
    });

    test('a prefix outside [a-z]+_(live|sandbox)_ is refused and adds no key', async () => {
      const before = (await cli(['keys', 'list', '--org', server.org.orgID, '--json'], server.databaseURL)).stdout;
      for (const prefix of ['Expys_live_', 'expys_test_', 'expys_live', '_live_', 'expys_live_x', 'ex-ys_live_', '']) {
        const refused = await cliRun(
          ['keys', 'create', '--org', server.org.orgID, '--prefix', prefix],
          server.databaseURL,
        );
        assert.notEqual(refused.code, 0, `--prefix ${JSON.stringify(prefix)} was accepted`);
        assert.match(refused.stderr, /--prefix must be/);
      }
      const after = (await cli(['keys', 'list', '--org', server.org.orgID, '--json'], server.databaseURL)).stdout;
      assert.equal(after, before);
    });

    test("the hosted API's SDK exchanges a token with an expys_live_ key, and a resend with its Idempotency-Key replays it", async () => {
      const sdk = new HostedSDKClient(server.url, live.apiKey);
      const r = await sdk.exchangeToken({ externalUserID: 'hosted-ada', displayName: 'Ada', tier: 'gold' });
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json).sort(), ['accessToken', 'expiresAt']);
      assert.match(r.json.expiresAt, /Z$/);
      assert.equal((await api.get('/v1/conversations', { token: r.json.accessToken })).status, 200);
      // The SDK resends a timed-out call with the same key: the server must answer the first token again.
      const first = sdk.sent.at(-1)!;
      assert.match(
        first.headers['idempotency-key']!,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const again = await fetch(new URL(first.path, server.url), {
        method: first.method,
        headers: first.headers,
        body: first.body,
      });
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await again.json()) as { accessToken: string }).accessToken, r.json.accessToken);
    });

    test("the hosted API's SDK gets, sets and removes members with an expys_live_ key (no Idempotency-Key)", async () => {
      const sdk = new HostedSDKClient(server.url, live.apiKey);
      const id = 'hosted member/ü?#1';
      const created = await sdk.setMember(id, { displayName: 'Grace', email: 'grace@example.com' });
      assert.equal(created.status, 201);
      assert.equal(created.json.externalUserID, id);
      const upserted = await sdk.setMember(id, { displayName: 'Grace H.' });
      assert.equal(upserted.status, 200);
      assert.equal(upserted.json.email, 'grace@example.com', 'PUT upserts: fields left out keep their values');
      const got = await sdk.getMember(id);
      assert.equal(got.status, 200);
      assert.equal(got.json.displayName, 'Grace H.');
      const removed = await sdk.removeMember(id);
      assert.equal(removed.status, 200);
      const offboarded = { externalUserID: id, archived: true, balanceRetained: false, ok: true, deleted: false };
      assert.deepEqual(removed.json, offboarded);
      const again = await sdk.removeMember(id);
      assert.deepEqual(again.json, offboarded, 'DELETE is idempotent by itself');
      const archived = await sdk.getMember(id);
      assert.equal(archived.status, 200, 'an archived member stays readable by the org');
      assert.equal(typeof archived.json.archivedAt, 'string');
      const unknown = await sdk.getMember('never-seen');
      assert.equal(unknown.status, 404);
      assert.equal((unknown.json as { error: { code: string } }).error.code, 'NOT_FOUND');
      for (const s of sdk.sent.filter((x) => x.method !== 'POST'))
        assert.equal(s.headers['idempotency-key'], undefined, `${s.method} carries no key`);
      assert.ok(
        sdk.sent
          .filter((s) => !s.path.endsWith('/never-seen'))
          .every((s) => s.path.startsWith('/v1/members/hosted%20member%2F%C3%BC%3F%231')),
      );
    });

    test('an expys_ key works everywhere a ck_live_ key does: member-mode reads for a member, sends as the concierge', async () => {
      const token = await api.memberToken(live.apiKey, 'hosted-bob');
      const conv = await api.openConversation(token);
      const sent = await api.post(`/v1/conversations/${conv}/messages`, {
        token: live.apiKey,
        body: { message: 'Hello from the concierge', authorID: 'agent-ann' },
        headers: { 'idempotency-key': 'expys-send-1' },
      });
      assert.equal(sent.status, 200, sent.text);
      const list = await api.get(`/v1/conversations/${conv}/messages`, {
        token: live.apiKey,
        query: { externalUserID: 'hosted-bob' },
      });
      assert.equal(list.status, 200);
      assert.equal(list.json.messages[0].body, 'Hello from the concierge');
      const sandbox = await createKey(server, 'acme_sandbox_');
      const convs = await api.get('/v1/conversations', {
        token: sandbox.apiKey,
        query: { externalUserID: 'hosted-bob' },
      });
      assert.equal(convs.status, 200);
      assert.equal(convs.json.conversations.length, 1);
    });

    test('an unknown or revoked expys_ key is 401 API_KEY_INVALID, and the hosted SDK refuses a ck_live_ key itself', async () => {
      const unknown = await api.get('/v1/members/x', { token: 'expys_live_doesnotexist' });
      assert.equal(unknown.status, 401);
      assert.equal(errorCode(unknown), 'API_KEY_INVALID');
      const doomed = await createKey(server, 'expys_live_');
      assert.equal(
        (await api.get('/v1/conversations', { token: doomed.apiKey, query: { externalUserID: 'x' } })).status,
        200,
      );
      await cli(['keys', 'revoke', doomed.keyID, '--org', server.org.orgID], server.databaseURL);
      const revoked = await api.post('/v1/auth/exchange', { token: doomed.apiKey, body: { externalUserID: 'x' } });
      assert.equal(revoked.status, 401);
      assert.equal(errorCode(revoked), 'API_KEY_INVALID');
      // Why the prefix exists: the hosted SDK never sends a server-only call with a ck_live_ key.
      await assert.rejects(new HostedSDKClient(server.url, server.org.apiKey).exchangeToken({ externalUserID: 'x' }));
    });
  });

  describe(`the hosted API's SDK manages webhooks with an expys_live_ key [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let receiver: Server;
    let receiverURL: string;
    let sdk: HostedSDKClient;

    before(async () => {
      ({ server, close } = await withServer(store, {
        args: ['--rate-limit', '0', '--webhooks-allow-http', '--webhooks-allow-private'],
      }));
      receiver = createServer((_req, res) => res.writeHead(204).end());
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverURL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      sdk = new HostedSDKClient(server.url, (await createKey(server, 'expys_live_')).apiKey);
    });
    after(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
      await close();
    });

    test('createWebhook, listWebhooks and deleteWebhook get the documented shapes', async () => {
      const created = await sdk.createWebhook({ events: ['conversation.message_created'], url: receiverURL });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const endpoint = created.json as {
        id: string;
        url: string;
        events: string[];
        environment: string;
        signingSecret: string;
        createdAt: string;
      };
      for (const k of ['id', 'url', 'events', 'environment', 'signingSecret', 'createdAt'])
        assert.ok(k in endpoint, `${k} in ${JSON.stringify(endpoint)}`);
      assert.equal(endpoint.url, receiverURL);
      assert.deepEqual(endpoint.events, ['conversation.message_created']);
      assert.ok(endpoint.environment === 'LIVE' || endpoint.environment === 'SANDBOX', endpoint.environment);
      assert.match(endpoint.signingSecret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      const secretBytes = Buffer.from(endpoint.signingSecret.slice('whsec_'.length), 'base64').length;
      assert.ok(secretBytes >= 24 && secretBytes <= 64, `${secretBytes} secret bytes`);
      assert.ok(!Number.isNaN(Date.parse(endpoint.createdAt)));
      assert.equal(sdk.sent.at(-1)!.headers['content-type'], 'application/json');
      assert.ok(sdk.sent.at(-1)!.headers['idempotency-key'] !== undefined);

      const listed = await sdk.listWebhooks();
      assert.equal(listed.status, 200);
      const mine = listed.json.data.find((e) => e.id === endpoint.id);
      assert.ok(mine !== undefined, JSON.stringify(listed.json));
      for (const k of ['id', 'url', 'events', 'environment', 'createdAt', 'disabledAt']) assert.ok(k in mine, k);
      assert.equal(mine.disabledAt, null);
      assert.equal(mine.signingSecret, undefined, 'the secret is shown only at creation');

      const deleted = await sdk.deleteWebhook(endpoint.id);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.json, { id: endpoint.id, ok: true });
      assert.equal(sdk.sent.at(-1)!.headers['idempotency-key'], undefined);
      const after = (await sdk.listWebhooks()).json.data.find((e) => e.id === endpoint.id);
      assert.ok(after !== undefined && typeof after.disabledAt === 'string', 'DELETE is a soft disable');
    });
  });
}

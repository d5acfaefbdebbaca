import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { acrossStores, Api, errorCode, RawStream, Receiver, TestServer, until, withServer } from './harness/index.js';
import { createEndpoint, FAST, PERMISSIVE, verify } from './webhook-fixtures.js';

/** Webhooks through the real CLI server, delivered to real receivers on loopback: the API, signing, retries. */

acrossStores((store) => {
  describe(`webhooks [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: [...PERMISSIVE, ...FAST] }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(async () => close());

    async function conversation(ext = `m-${randomUUID()}`) {
      const token = await api.memberToken(key, ext);
      return { token, id: await api.openConversation(token, { title: 'hello' }), ext };
    }

    test('create answers 201 with a whsec_ secret shown once; list and get show the endpoint without it', async () => {
      const r = await api.post('/v1/webhooks', {
        token: key,
        body: { url: 'http://127.0.0.1:9/x', events: ['conversation.message_created'], description: 'crm' },
      });
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.signingSecret, /^whsec_[A-Za-z0-9+/]+=*$/);
      const bytes = Buffer.from(r.json.signingSecret.slice(6), 'base64').length;
      assert.ok(bytes >= 24 && bytes <= 64);
      assert.equal(r.json.environment, 'LIVE');
      assert.equal(r.json.disabledAt, null);
      for (const k of ['id', 'url', 'events', 'environment', 'signingSecret', 'createdAt']) assert.ok(k in r.json, k);
      const list = await api.get('/v1/webhooks', { token: key });
      assert.equal(list.status, 200);
      const listed = list.json.data.find((e: { id: string }) => e.id === r.json.id);
      assert.deepEqual(Object.keys(listed).slice(0, 6), [
        'id',
        'url',
        'events',
        'environment',
        'createdAt',
        'disabledAt',
      ]);
      assert.ok(!('signingSecret' in listed));
      const del = await api.delete(`/v1/webhooks/${r.json.id}`, { token: key });
      assert.deepEqual(del.json, { id: r.json.id, ok: true });
      const gone = await api.get(`/v1/webhooks/${r.json.id}`, { token: key });
      assert.equal(gone.json.disabledReason, 'deleted');
      assert.notEqual(gone.json.disabledAt, null);
      // DELETE is idempotent by itself.
      assert.equal((await api.delete(`/v1/webhooks/${r.json.id}`, { token: key })).status, 200);
    });

    test('a retried create with the same Idempotency-Key makes one endpoint and answers the same secret', async () => {
      const headers = { 'idempotency-key': randomUUID() };
      const body = { url: 'http://127.0.0.1:9/idem', events: ['*'] };
      const a = await api.post('/v1/webhooks', { token: key, body, headers });
      const b = await api.post('/v1/webhooks', { token: key, body, headers });
      assert.equal(b.status, 201);
      assert.equal(b.headers.get('idempotent-replayed'), 'true');
      assert.equal(b.json.signingSecret, a.json.signingSecret);
      const other = await api.post('/v1/webhooks', {
        token: key,
        body: { ...body, events: ['member.deleted'] },
        headers,
      });
      assert.equal(other.status, 409);
      assert.equal(errorCode(other), 'IDEMPOTENCY_KEY_REUSED');
    });

    test('bad input on every route gets the envelope; a member token gets 403', async () => {
      const member = await api.memberToken(key, 'bad-input');
      const id = (await createEndpoint(api, key, 'http://127.0.0.1:9/bad')).id;
      const cases: Array<[string, string, Record<string, unknown>, number, string]> = [
        ['POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1:9', events: ['nope'] } }, 422, 'VALIDATION'],
        ['POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1:9', events: [] } }, 422, 'VALIDATION'],
        ['POST', '/v1/webhooks', { body: { url: 'ftp://x', events: ['*'] } }, 422, 'VALIDATION'],
        ['POST', '/v1/webhooks', { body: { url: 'not a url', events: ['*'] } }, 422, 'VALIDATION'],
        ['POST', '/v1/webhooks', { body: { events: ['*'] } }, 422, 'VALIDATION'],
        [
          'POST',
          '/v1/webhooks',
          { rawBody: '{"url":', headers: { 'content-type': 'application/json' } },
          400,
          'BAD_REQUEST',
        ],
        ['POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1:9', events: '*' } }, 422, 'VALIDATION'],
        ['PATCH', `/v1/webhooks/${id}`, { body: { enabled: 'yes' } }, 422, 'VALIDATION'],
        ['PATCH', `/v1/webhooks/${id}`, { body: { events: ['conversation.nope'] } }, 422, 'VALIDATION'],
        ['PATCH', '/v1/webhooks/wh_nope', { body: {} }, 404, 'NOT_FOUND'],
        ['GET', '/v1/webhooks/wh_nope', {}, 404, 'NOT_FOUND'],
        ['DELETE', '/v1/webhooks/wh_nope', {}, 404, 'NOT_FOUND'],
        ['POST', '/v1/webhooks/wh_nope/rotate-secret', {}, 404, 'NOT_FOUND'],
        ['POST', '/v1/webhooks/wh_nope/test', {}, 404, 'NOT_FOUND'],
        ['POST', `/v1/webhooks/${id}/replay`, { body: { since: 'yesterday' } }, 422, 'VALIDATION'],
        ['POST', `/v1/webhooks/${id}/replay`, { body: {} }, 422, 'VALIDATION'],
        ['POST', `/v1/webhooks/${id}/deliveries/whmsg_nope/retry`, {}, 404, 'NOT_FOUND'],
        ['GET', `/v1/webhooks/${id}/deliveries`, { query: { cursor: 'bogus' } }, 400, 'INVALID_CURSOR'],
        ['GET', `/v1/webhooks/${id}/deliveries`, { query: { limit: '0' } }, 422, 'VALIDATION'],
      ];
      for (const [method, path, options, status, code] of cases) {
        const r = await api.call(method, path, { token: key, ...options });
        assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(options)}: ${r.text}`);
        assert.equal(errorCode(r), code, `${method} ${path}`);
      }
      for (const [method, path] of [
        ['POST', '/v1/webhooks'],
        ['GET', '/v1/webhooks'],
        ['DELETE', `/v1/webhooks/${id}`],
        ['PATCH', `/v1/webhooks/${id}`],
        ['POST', `/v1/webhooks/${id}/rotate-secret`],
        ['GET', `/v1/webhooks/${id}/deliveries`],
        ['POST', `/v1/webhooks/${id}/replay`],
        ['POST', `/v1/webhooks/${id}/test`],
      ] as const) {
        const r = await api.call(method, path, { token: member, ...(method !== 'GET' && { body: {} }) });
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.equal(errorCode(r), 'FORBIDDEN');
      }
    });

    test('PATCH changes events and description, disables (no deliveries made) and enables again', async () => {
      const receiver = await Receiver.start();
      try {
        const endpoint = await createEndpoint(api, key, receiver.url, ['member.deleted']);
        const changed = await api.patch(`/v1/webhooks/${endpoint.id}`, {
          token: key,
          body: { events: ['conversation.message_created'], description: 'ops' },
        });
        assert.equal(changed.status, 200, changed.text);
        assert.deepEqual(changed.json.events, ['conversation.message_created']);
        assert.equal(changed.json.description, 'ops');
        const off = await api.patch(`/v1/webhooks/${endpoint.id}`, { token: key, body: { enabled: false } });
        assert.equal(off.json.disabledReason, 'disabled');
        const c = await conversation();
        await api.send(c.token, c.id, 'while disabled');
        const on = await api.patch(`/v1/webhooks/${endpoint.id}`, { token: key, body: { enabled: true } });
        assert.equal(on.json.disabledAt, null);
        assert.equal(on.json.disabledReason, null);
        const sent = await api.send(c.token, c.id, 'after');
        await receiver.until(() => receiver.received.length >= 1, 'the delivery after enabling');
        // The message sent while disabled made no delivery: the only one is the later message. (A delivery is listed
        // once its first attempt is recorded, a moment after the receiver has it.)
        let list: any[] = [];
        await until(async () => {
          list = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data;
          return list.length >= 1 && list.every((d) => d.status === 'delivered');
        }, 'the delivery recorded');
        assert.equal(list.length, 1);
        assert.equal(receiver.received.length, 1);
        assert.equal(receiver.events()[0]!.data.message.id, sent.json.message.id);
      } finally {
        await receiver.close();
      }
    });

    test('a message reaches the endpoint signed per Standard Webhooks, verified by the reference package', async () => {
      const receiver = await Receiver.start();
      try {
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const c = await conversation();
        const sent = await api.send(c.token, c.id, 'a table for two', { 'idempotency-key': randomUUID() });
        assert.equal(sent.status, 200);
        await receiver.until(() => receiver.received.length >= 1, 'the delivery');
        const r = receiver.received[0]!;
        const event = verify(endpoint.signingSecret, r) as { type: string; timestamp: string; data: any };
        assert.equal(event.type, 'conversation.message_created');
        assert.deepEqual(event.data, { conversationID: c.id, message: sent.json.message });
        assert.deepEqual(Object.keys(event), ['type', 'timestamp', 'data']);
        assert.match(String(r.headers['webhook-id']), /^whmsg_/);
        assert.match(String(r.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
        // Subscribed to messages only: opening the conversation sent nothing.
        assert.equal(receiver.received.length, 1);
        assert.throws(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, r));
        assert.throws(() => verify(endpoint.signingSecret, { ...r, body: r.body.replace('two', 'six') }));
      } finally {
        await receiver.close();
      }
    });

    test('every event type carries what the API shows, and `*` receives them all', async () => {
      const receiver = await Receiver.start();
      try {
        await createEndpoint(api, key, receiver.url, ['*']);
        const c = await conversation();
        const reply = await api.post(`/v1/conversations/${c.id}/messages`, { token: key, body: { message: 'yes' } });
        const read = await api.post(`/v1/conversations/${c.id}/read`, {
          token: c.token,
          body: { messageID: reply.json.message.id },
        });
        assert.equal(read.status, 200, read.text);
        // Erasing the member erases what is still queued about them (see "erasing a member" below): the three
        // conversation events are received before it.
        await receiver.until(() => receiver.received.length >= 3, 'three conversation events');
        assert.equal((await api.post(`/v1/members/${c.ext}/erase`, { token: key })).status, 200);
        await receiver.until(() => receiver.received.length >= 4, 'four events');
        const byType = new Map(receiver.events().map((e) => [e.type, e]));
        assert.deepEqual(byType.get('conversation.created')!.data.conversation.id, c.id);
        assert.equal(byType.get('conversation.created')!.data.externalUserID, c.ext);
        assert.deepEqual(byType.get('conversation.message_created')!.data.message, reply.json.message);
        assert.deepEqual(Object.keys(byType.get('conversation.read')!.data), [
          'conversationID',
          'reader',
          'readerID',
          'messageID',
          'readAt',
        ]);
        assert.equal(byType.get('member.deleted')!.data.externalUserID, c.ext);
        // Only wire fields: no storage internals (seq, orgID, via, memberID) in any body.
        for (const r of receiver.received) assert.doesNotMatch(r.body, /"(seq|orgID|via|memberID|lastSeq)"/);
      } finally {
        await receiver.close();
      }
    });

    test('conversation.updated carries the team state; internal notes are never sent', async () => {
      const receiver = await Receiver.start();
      try {
        await createEndpoint(api, key, receiver.url, ['*']);
        const c = await conversation();
        const note = await api.post(`/v1/conversations/${c.id}/notes`, {
          token: key,
          body: { body: 'VIP: never mention the gala' },
        });
        assert.equal(note.status, 201, note.text);
        const closed = await api.post(`/v1/conversations/${c.id}/close`, { token: key });
        assert.equal(closed.status, 200, closed.text);
        // The member's message reopens it: a second conversation.updated, after the message.
        await api.send(c.token, c.id, 'one more thing');
        await receiver.until(
          () => receiver.events().filter((e) => e.type === 'conversation.updated').length >= 2,
          'two state changes',
        );
        const updates = receiver.events().filter((e) => e.type === 'conversation.updated');
        assert.deepEqual(updates[0]!.data, closed.json);
        assert.equal(updates[1]!.data.status, 'open');
        for (const r of receiver.received) assert.doesNotMatch(r.body, /gala|"note"/);
      } finally {
        await receiver.close();
      }
    });

    test('failures are retried on the schedule with the same webhook-id; the attempts are listed', async () => {
      const receiver = await Receiver.start();
      try {
        receiver.behaviour = () => (receiver.received.length < 3 ? { status: 500, body: 'down' } : { status: 204 });
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const c = await conversation();
        await api.send(c.token, c.id, 'retry me');
        await receiver.until(() => receiver.received.length >= 3, 'three attempts');
        const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
        assert.equal(ids.size, 1);
        // The schedule's 0.2 s gaps (plus up to 10% jitter) are kept between attempts.
        for (let i = 1; i < 3; i++)
          assert.ok(receiver.received[i]!.at - receiver.received[i - 1]!.at >= 190, `gap before attempt ${i + 1}`);
        let list: any;
        await until(async () => {
          list = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json;
          return list.data[0]?.status === 'delivered';
        }, 'the delivery recorded as delivered');
        assert.equal(list.data[0].attempts, 3);
        assert.equal(list.data[0].lastStatusCode, 204);
        assert.equal(list.data[0].id, [...ids][0]);
        assert.equal(list.data[0].nextAttemptAt, null);
      } finally {
        await receiver.close();
      }
    });

    test('a delivery that fails every attempt is given up after the schedule; retry sends it again', async () => {
      const receiver = await Receiver.start();
      try {
        receiver.behaviour = () => ({ status: 503 });
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const c = await conversation();
        await api.send(c.token, c.id, 'never');
        let d: any;
        await until(async () => {
          d = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data[0];
          return d?.status === 'failed';
        }, 'the delivery given up');
        assert.equal(d.attempts, 3);
        assert.equal(receiver.received.length, 3);
        const failing = (await api.get(`/v1/webhooks/${endpoint.id}`, { token: key })).json;
        assert.notEqual(failing.failingSince, null);
        receiver.behaviour = () => ({ status: 200 });
        const retried = await api.post(`/v1/webhooks/${endpoint.id}/deliveries/${d.id}/retry`, { token: key });
        assert.equal(retried.status, 200, retried.text);
        assert.equal(retried.json.status, 'pending');
        await receiver.until(() => receiver.received.length === 4, 'the retried attempt');
        assert.equal(receiver.received[3]!.headers['webhook-id'], d.id);
        await until(
          async () => (await api.get(`/v1/webhooks/${endpoint.id}`, { token: key })).json.failingSince === null,
          'the failing run to end with the success',
        );
      } finally {
        await receiver.close();
      }
    });

    test('410 Gone disables the endpoint at once and says so on the org stream', async () => {
      const receiver = await Receiver.start();
      const stream = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${key}` });
      try {
        receiver.behaviour = () => ({ status: 410 });
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        await stream.until(() => stream.retry !== undefined);
        const c = await conversation();
        await api.send(c.token, c.id, 'anyone there?');
        await stream.until(() => stream.events.some((e) => e.event === 'webhook.disabled'));
        const e = stream.events.find((x) => x.event === 'webhook.disabled')!;
        assert.deepEqual(JSON.parse(e.data).endpointID, endpoint.id);
        assert.equal(JSON.parse(e.data).reason, 'gone');
        const got = (await api.get(`/v1/webhooks/${endpoint.id}`, { token: key })).json;
        assert.equal(got.disabledReason, 'gone');
        await api.send(c.token, c.id, 'and now?');
        // Disabled: the next message makes no delivery for it (a barrier: the list shows one delivery only).
        const list = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data;
        assert.equal(list.length, 1);
        assert.equal(list[0].status, 'failed');
        assert.equal(receiver.received.length, 1);
      } finally {
        stream.close();
        await receiver.close();
      }
    });

    test('a redirect is not followed: the 3xx is a failed attempt and the target gets nothing', async () => {
      const target = await Receiver.start();
      const redirecting = await Receiver.start();
      try {
        redirecting.behaviour = (_r, res) => {
          res.writeHead(307, { location: target.url }).end();
          return 'handled';
        };
        const endpoint = await createEndpoint(api, key, redirecting.url, ['*']);
        await api.post(`/v1/webhooks/${endpoint.id}/test`, { token: key });
        let d: any;
        await until(async () => {
          d = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data[0];
          return d?.status === 'failed';
        }, 'the redirected delivery given up');
        assert.equal(d.lastStatusCode, 307);
        assert.equal(target.received.length, 0);
      } finally {
        await redirecting.close();
        await target.close();
      }
    });

    test('after a rotation both secrets sign for the overlap, each verified by the reference package', async () => {
      const receiver = await Receiver.start();
      try {
        const endpoint = await createEndpoint(api, key, receiver.url, ['*']);
        const rotated = await api.post(`/v1/webhooks/${endpoint.id}/rotate-secret`, { token: key });
        assert.equal(rotated.status, 200, rotated.text);
        assert.notEqual(rotated.json.signingSecret, endpoint.signingSecret);
        const overlap = Date.parse(rotated.json.previousSecretExpiresAt) - Date.now();
        assert.ok(overlap > 23 * 3600_000 && overlap <= 24 * 3600_000);
        const t = await api.post(`/v1/webhooks/${endpoint.id}/test`, { token: key });
        assert.equal(t.status, 202, t.text);
        await receiver.until(() => receiver.received.length >= 1, 'the test event');
        const r = receiver.received[0]!;
        assert.equal(String(r.headers['webhook-signature']).split(' ').length, 2);
        assert.equal((verify(rotated.json.signingSecret, r) as any).type, 'webhook.test');
        assert.equal((verify(endpoint.signingSecret, r) as any).data.endpointID, endpoint.id);
      } finally {
        await receiver.close();
      }
    });

    test('a hanging, a resetting and a huge-answer receiver each cost their own slots only', async () => {
      const healthy = await Receiver.start();
      const hanging = await Receiver.start();
      const resetting = await Receiver.start();
      const huge = await Receiver.start();
      try {
        // Requests the hanging receiver holds open right now, and the most it ever held: under load the server's
        // timeout ends some before the healthy endpoint has all twenty, and their retries arrive, so the count of
        // requests received says nothing about slots; the most held at once does.
        let open = 0;
        let mostOpen = 0;
        hanging.behaviour = (_r, res) => {
          mostOpen = Math.max(mostOpen, ++open);
          res.once('close', () => open--);
          return 'handled';
        };
        resetting.behaviour = (_r, res) => {
          res.socket?.destroy();
          return 'handled';
        };
        huge.behaviour = (_r, res) => {
          res.writeHead(200);
          // Far more than the 64 KiB read: written as the server reads, never buffered whole.
          const chunk = Buffer.alloc(64 * 1024, 'x');
          let left = 1024;
          const pump = () => {
            while (left > 0 && res.write(chunk)) left--;
            if (left > 0 && !res.destroyed) res.once('drain', pump);
            else res.end();
          };
          pump();
          return 'handled';
        };
        const hugeEndpoint = await createEndpoint(api, key, huge.url, ['conversation.message_created']);
        for (const r of [hanging, resetting]) await createEndpoint(api, key, r.url, ['conversation.message_created']);
        await createEndpoint(api, key, healthy.url, ['conversation.message_created']);
        const c = await conversation();
        // More messages than the hanging endpoint has slots (16, the default `--webhook-concurrency`): the healthy
        // one gets every one meanwhile, and the hanging one never more than its slots (a new endpoint is not fast,
        // so nothing is queued for it beyond them).
        for (let i = 0; i < 20; i++) await api.send(c.token, c.id, `m${i}`);
        await healthy.until(() => healthy.received.length >= 20, 'all twenty at the healthy endpoint');
        await hanging.until(() => hanging.received.length > 0, 'the hanging endpoint called');
        assert.ok(mostOpen <= 16, `hanging endpoint held ${mostOpen} at once`);
        let d: any;
        await until(async () => {
          d = (await api.get(`/v1/webhooks/${hugeEndpoint.id}/deliveries`, { token: key })).json.data;
          return d.length === 20 && d.every((x: any) => x.status === 'delivered');
        }, 'the huge answers recorded');
        assert.equal(d[0].lastResponseBody.length, 64 * 1024);
      } finally {
        for (const r of [healthy, hanging, resetting, huge]) await r.close();
      }
    });

    test('the list is by event time: an older event whose attempt ends last is still listed after newer ones', async () => {
      // A server of its own: the first attempt is held until the later two are recorded, which on a loaded machine
      // can take longer than the suite's two-second webhook timeout (the held attempt would then fail and be
      // recorded first).
      const own = await withServer(store, {
        args: [...PERMISSIVE, ...FAST, '--webhook-timeout', '60', '--webhook-lease', '120'],
      });
      const api = new Api(own.server.url);
      const key = own.server.org.apiKey;
      const receiver = await Receiver.start();
      let release: (() => void) | null = null;
      receiver.behaviour = (r, res) => {
        if (JSON.parse(r.body).data.message.body !== 'first') return { status: 200 };
        // Answered only once the later two are recorded: its row is written last.
        release = () => res.writeHead(200).end();
        return 'handled';
      };
      try {
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const list = async () =>
          (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data as Array<{
            id: string;
            status: string;
            createdAt: string;
          }>;
        const token = await api.memberToken(key, `m-${randomUUID()}`);
        const c = { token, id: await api.openConversation(token) };
        await api.send(c.token, c.id, 'first');
        await receiver.until(() => release !== null, 'the first delivery held');
        await api.send(c.token, c.id, 'second');
        await api.send(c.token, c.id, 'third');
        await until(async () => (await list()).length === 2, 'the later two recorded');
        release!();
        await until(async () => (await list()).length === 3, 'the first recorded too');
        const listed = await list();
        const firstID = receiver.received.find((r) => JSON.parse(r.body).data.message.body === 'first')!.headers[
          'webhook-id'
        ];
        const first = listed.find((d) => d.id === firstID)!;
        // Every delivery of a later event comes before it, though its row was written after theirs.
        for (const [i, d] of listed.entries())
          if (Date.parse(d.createdAt) > Date.parse(first.createdAt)) assert.ok(i < listed.indexOf(first), d.id);
        assert.ok(
          listed.some((d) => Date.parse(d.createdAt) > Date.parse(first.createdAt)),
          'the later events are later',
        );
      } finally {
        await receiver.close();
        await own.close();
      }
    });

    test('replay re-sends every delivery since an instant; deliveries page newest first with a cursor', async () => {
      const receiver = await Receiver.start();
      try {
        const endpoint = await createEndpoint(api, key, receiver.url, ['conversation.message_created']);
        const c = await conversation();
        for (let i = 0; i < 5; i++) await api.send(c.token, c.id, `r${i}`);
        await receiver.until(() => receiver.received.length >= 5, 'five deliveries');
        await until(async () => {
          const all = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key })).json.data;
          return all.length === 5 && all.every((d: any) => d.status === 'delivered');
        }, 'the five recorded');
        const page1 = (await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, { token: key, query: { limit: '3' } }))
          .json;
        assert.equal(page1.data.length, 3);
        const page2 = (
          await api.get(`/v1/webhooks/${endpoint.id}/deliveries`, {
            token: key,
            query: { limit: '3', cursor: page1.nextCursor },
          })
        ).json;
        assert.equal(page2.data.length, 2);
        assert.equal(page2.nextCursor, null);
        const listed = [...page1.data, ...page2.data];
        // Newest event first: by the event's time, never later than the one before, across the pages. Neither the
        // arrival order nor the order first attempts were recorded in is a guide: attempts to one endpoint run in
        // parallel (docs/webhooks.md says so). Two messages of one millisecond may come in either order.
        const times = listed.map((d: any) => Date.parse(d.createdAt));
        assert.deepEqual(
          times,
          [...times].sort((a, b) => b - a),
        );
        const idOfText = new Map(
          receiver.received.map((r) => [JSON.parse(r.body).data.message.body, r.headers['webhook-id']]),
        );
        assert.deepEqual(
          new Set(listed.map((d: any) => d.id)),
          new Set(['r4', 'r3', 'r2', 'r1', 'r0'].map((text) => idOfText.get(text))),
        );
        assert.equal(listed.length, 5);
        const replay = await api.post(`/v1/webhooks/${endpoint.id}/replay`, {
          token: key,
          body: { since: new Date(Date.now() - 3600_000).toISOString() },
        });
        assert.deepEqual(replay.json, { ok: true, count: 5 });
        await receiver.until(() => receiver.received.length >= 10, 'five replayed');
        assert.deepEqual(
          new Set(receiver.received.slice(5).map((r) => r.headers['webhook-id'])),
          new Set(receiver.received.slice(0, 5).map((r) => r.headers['webhook-id'])),
        );
      } finally {
        await receiver.close();
      }
    });
  });
});

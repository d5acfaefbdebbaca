/// <reference lib="es2024.string" />
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { acrossStores, Api, errorCode, RawStream, TestServer, until, withServer } from './harness/index.js';

/**
 * What an adversarial tester broke, each kept closed. Strings that are not well-formed Unicode are
 * refused at the boundary (they cannot be stored without being changed, and on PostgreSQL three distinct ids
 * became one member); bodies nest at most 32 deep; what Node's HTTP parser refuses still gets the envelope; slow
 * clients cost bounded time and sockets.
 */

/** A raw HTTP/1.1 exchange over TCP: what fetch cannot send (bad bytes, slow bodies, huge headers). */
async function rawRequest(
  url: string,
  bytes: Buffer | string,
): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(bytes);
  return readResponse(socket);
}

async function readResponse(socket: Socket): Promise<{ status: number; head: string; body: string }> {
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  await Promise.race([once(socket, 'end'), once(socket, 'close')]);
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body };
}

function envelope(r: { head: string; body: string }): { code: string; requestID: string } {
  const parsed = JSON.parse(r.body) as { error: { code: string; requestID: string } };
  const header = /x-request-id: (\S+)/i.exec(r.head)?.[1];
  assert.equal(header, parsed.error.requestID, 'x-request-id header and envelope agree');
  return parsed.error;
}

/**
 * The server's log line for an answer written on the raw socket: quoting its request id finds it, as for any other
 * answer. Checked by what the line says, so a line of another request cannot pass for it.
 */
async function assertLogged(server: TestServer, r: { status: number; head: string; body: string }): Promise<void> {
  const { code, requestID } = envelope(r);
  const lineOf = () =>
    server.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { reqId?: string; msg?: string; status?: number; code?: string })
      .find((l) => l.reqId === requestID);
  await until(() => lineOf() !== undefined, `the log line of ${requestID}`);
  const line = lineOf()!;
  assert.deepEqual([line.msg, line.status, line.code], ['request', r.status, code]);
}

const LONE = ['\ud800', '\udfff', 'a\udbffb', '\udc00\ud800'];

acrossStores((store) => {
  describe(`hardening: Unicode at the boundary [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    test('externalUserIDs with lone surrogates are refused, so three ids can never become one member', async () => {
      for (const bad of ['alice\ud800', 'alice\udfff']) {
        const r = await api.post('/v1/auth/exchange', { token: key, body: { externalUserID: bad } });
        assert.equal(r.status, 422, r.text);
        assert.equal(errorCode(r), 'VALIDATION');
        assert.equal(r.json.error.field, 'externalUserID');
      }
      // U+FFFD itself is a character like any other: accepted, and read back exactly.
      const ok = await api.post('/v1/auth/exchange', { token: key, body: { externalUserID: 'alice\ufffd' } });
      assert.equal(ok.status, 200);
      const member = await api.get(`/v1/members/${encodeURIComponent('alice\ufffd')}`, { token: key });
      assert.equal(member.json.externalUserID, 'alice\ufffd');
      assert.equal((await api.get('/v1/members/alice', { token: key })).status, 404);
    });

    test('every string field of every route refuses lone surrogates with 422 naming the field, and writes nothing', async () => {
      const token = await api.memberToken(key, 'surrogates');
      const id = await api.openConversation(token, { title: 'ok' });
      const sent = await api.send(token, id, 'first');
      const messageID = sent.json.message.id as string;
      const history = async () =>
        (await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '100' } })).json.messages.length;
      const conversations = async () => (await api.get('/v1/conversations', { token })).json.conversations.length;
      const [h0, c0] = [await history(), await conversations()];
      for (const lone of LONE) {
        const cases: Array<[string, string, Record<string, unknown>, string, string?]> = [
          ['POST', '/v1/auth/exchange', { externalUserID: `x${lone}` }, 'externalUserID', key],
          ['POST', '/v1/auth/exchange', { externalUserID: 'fine', displayName: lone }, 'displayName', key],
          ['POST', '/v1/auth/exchange', { externalUserID: 'fine', email: lone }, 'email', key],
          ['POST', '/v1/auth/exchange', { externalUserID: 'fine', tier: lone }, 'tier', key],
          ['PUT', '/v1/members/surrogates', { displayName: `A${lone}` }, 'displayName', key],
          ['POST', '/v1/conversations', { title: `t${lone}` }, 'title'],
          ['POST', '/v1/conversations', { type: lone }, 'type'],
          ['POST', `/v1/conversations/${id}/messages`, { message: `x ${lone} y` }, 'message'],
          ['POST', `/v1/conversations/${id}/messages`, { message: 'ok', [`k${lone}`]: 1 }, 'body'],
          [
            'POST',
            `/v1/conversations/${id}/messages`,
            { message: 'ok', nested: { deeper: [lone] } },
            'nested.deeper.0',
          ],
          ['POST', `/v1/conversations/${id}/read`, { messageID: `${messageID}${lone}` }, 'messageID'],
          ['POST', `/v1/conversations/${id}/messages`, { message: 'hi', authorID: `a${lone}` }, 'authorID', key],
        ];
        for (const [method, path, body, field, credential] of cases) {
          const r = await api.call(method, path, { token: credential ?? token, body });
          assert.equal(r.status, 422, `${method} ${path} ${JSON.stringify(body)} → ${r.text}`);
          assert.equal(errorCode(r), 'VALIDATION');
          assert.equal(r.json.error.field, field, `${method} ${path}`);
        }
      }
      assert.equal(await history(), h0);
      assert.equal(await conversations(), c0);
      assert.equal((await api.get('/v1/members/x%ED%A0%80', { token: key })).status, 400);
    });

    test('query parameters that are not well-formed percent-encoded UTF-8 are 422 naming the parameter', async () => {
      const token = await api.memberToken(key, 'query-bytes');
      const id = await api.openConversation(token);
      for (const raw of ['%ED%A0%80', '%FF', '%C3', 'abc%', '%E2%82']) {
        for (const [path, param] of [
          [`/v1/conversations/${id}/messages?cursor=${raw}`, 'cursor'],
          [`/v1/conversations/${id}/messages?limit=${raw}`, 'limit'],
          [`/v1/conversations?externalUserID=${raw}`, 'externalUserID'],
          [`/v1/conversations/${id}/stream?after=${raw}`, 'after'],
        ] as const) {
          const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
          const body = (await r.json()) as { error: { code: string; field: string; requestID: string } };
          assert.equal(r.status, 422, `${path}`);
          assert.equal(body.error.code, 'VALIDATION');
          assert.equal(body.error.field, param);
          assert.equal(r.headers.get('x-request-id'), body.error.requestID);
        }
      }
    });

    test('an Idempotency-Key that is not printable ASCII is 422, and nothing is written', async () => {
      const token = await api.memberToken(key, 'idem-bytes');
      const id = await api.openConversation(token);
      const r = await fetch(`${server.url}/v1/conversations/${id}/messages`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': Buffer.from('k\u00e9y', 'latin1').toString('latin1'),
        },
        body: JSON.stringify({ message: 'x' }),
      });
      assert.equal(r.status, 422);
      assert.equal(((await r.json()) as { error: { field: string } }).error.field, 'Idempotency-Key');
      const page = await api.get(`/v1/conversations/${id}/messages`, { token });
      assert.equal(page.json.messages.length, 0);
    });

    test('raw invalid UTF-8 bytes in a body are 400, never silently replaced', async () => {
      const token = await api.memberToken(key, 'raw-bytes');
      const id = await api.openConversation(token);
      for (const bytes of [
        Buffer.concat([Buffer.from('{"message":"x '), Buffer.from([0xff]), Buffer.from(' y"}')]),
        Buffer.concat([Buffer.from('{"message":"x '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
        Buffer.concat([Buffer.from('{"message":"x '), Buffer.from([0xc3]), Buffer.from('"}')]),
      ]) {
        const r = await fetch(`${server.url}/v1/conversations/${id}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: bytes,
        });
        const body = (await r.json()) as { error: { code: string } };
        assert.equal(r.status, 400);
        assert.equal(body.error.code, 'BAD_REQUEST');
      }
      assert.equal((await api.get(`/v1/conversations/${id}/messages`, { token })).json.messages.length, 0);
    });

    test('property: every accepted string reads back byte-identical through every route and stream', async () => {
      const token = await api.memberToken(key, 'round-trip');
      const id = await api.openConversation(token);
      const stream = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
      });
      // Any well-formed text: astral characters, combining marks, U+FFFD, controls other than NUL.
      const text = fc
        .string({ unit: 'binary', minLength: 1, maxLength: 60 })
        .filter((s) => s.isWellFormed() && !s.includes('\u0000') && s.trim() !== '');
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(text, text, async (message, name) => {
          const r = await api.send(token, id, message);
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.message.body, message);
          sent++;
          const page = await api.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '1' } });
          assert.equal(page.json.messages[0].body, message);
          await stream.waitForEvents(sent, 20_000);
          assert.equal(JSON.parse(stream.events[sent - 1]!.data).body, message);
          const put = await api.put('/v1/members/round-trip', { token: key, body: { displayName: name } });
          assert.equal(put.status, 200, put.text);
          const member = await api.get('/v1/members/round-trip', { token: key });
          assert.equal(member.json.displayName, name);
          const conv = await api.post('/v1/conversations', { token, body: { title: name } });
          assert.equal(conv.json.title, name);
          const listed = await api.get(`/v1/conversations/${conv.json.id}`, { token });
          assert.equal(listed.json.title, name);
        }),
        { numRuns: 40 },
      );
      stream.close();
    });
  });

  describe(`hardening: nesting, client errors, slow clients [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let token: string;
    let id: string;

    before(async () => {
      // At `info`, the level of the request lines the raw-socket answers are checked to have.
      ({ server, close } = await withServer(store, {
        args: ['--rate-limit', '0', '--request-timeout', '2', '--headers-timeout', '2', '--log-level', 'info'],
      }));
      api = new Api(server.url);
      token = await api.memberToken(server.org.apiKey, 'nester');
      id = await api.openConversation(token);
    });
    after(() => close());

    test('deeply nested bodies are 422 with or without an Idempotency-Key, never a 5xx, and write nothing', async () => {
      for (const depth of [33, 100, 3100, 30_000]) {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        for (const headers of [{}, { 'idempotency-key': `deep-${depth}` }]) {
          const r = await api.post(`/v1/conversations/${id}/messages`, {
            token,
            rawBody: `{"message":"hi","extra":${nested}}`,
            headers: { 'content-type': 'application/json', ...headers },
          });
          assert.equal(r.status, 422, `${depth}: ${r.text.slice(0, 200)}`);
          assert.equal(errorCode(r), 'VALIDATION');
        }
      }
      // 31 levels below the body is within the cap: the body is accepted (unknown fields are ignored).
      const fine = `${'['.repeat(30)}${']'.repeat(30)}`;
      const ok = await api.post(`/v1/conversations/${id}/messages`, {
        token,
        rawBody: `{"message":"shallow","extra":${fine}}`,
        headers: { 'content-type': 'application/json', 'idempotency-key': 'shallow' },
      });
      assert.equal(ok.status, 200, ok.text);
      const page = await api.get(`/v1/conversations/${id}/messages`, { token });
      assert.deepEqual(
        page.json.messages.map((m: { body: string }) => m.body),
        ['shallow'],
      );
    });

    test('a 100 KB header is 431 HEADERS_TOO_LARGE in the envelope with x-request-id, logged with that id', async () => {
      const r = await rawRequest(
        server.url,
        `GET /v1/conversations HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      );
      assert.equal(r.status, 431);
      assert.equal(envelope(r).code, 'HEADERS_TOO_LARGE');
      await assertLogged(server, r);
    });

    test('a raw 0xFF byte in the path is 400 BAD_REQUEST in the envelope with x-request-id, logged with that id', async () => {
      const r = await rawRequest(
        server.url,
        Buffer.concat([Buffer.from('GET /v1/conv'), Buffer.from([0xff]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]),
      );
      assert.equal(r.status, 400);
      assert.equal(envelope(r).code, 'BAD_REQUEST');
      await assertLogged(server, r);
    });

    test('headers that never finish are answered 408 REQUEST_TIMEOUT in the envelope, logged, and the socket closed', async () => {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      socket.write('GET /v1/conversations HTTP/1.1\r\nHost: x\r\n');
      const r = await readResponse(socket);
      assert.equal(r.status, 408);
      assert.equal(envelope(r).code, 'REQUEST_TIMEOUT');
      await assertLogged(server, r);
    });

    test('a body sent at one byte a second is cut off at --request-timeout and writes nothing', async () => {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      const body = JSON.stringify({ message: 'slowly '.repeat(20) });
      socket.write(
        `POST /v1/conversations/${id}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      let i = 0;
      // The dribble is the client under test, not a wait for the server: it stops when the server closes.
      const dribble = setInterval(() => {
        if (!socket.writable || i >= body.length) return;
        socket.write(body[i++]!);
      }, 1000);
      const response = readResponse(socket);
      const r = await response;
      clearInterval(dribble);
      assert.equal(r.status, 408);
      assert.equal(envelope(r).code, 'REQUEST_TIMEOUT');
      assert.ok(i < body.length, 'the server did not wait for the whole body');
      const page = await api.get(`/v1/conversations/${id}/messages`, { token });
      assert.ok(!page.json.messages.some((m: { body: string }) => m.body.startsWith('slowly')));
    });
  });

  describe(`hardening: per-address limits [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;

    before(async () => {
      ({ server, close } = await withServer(store, {
        args: ['--ip-rate-limit', '30', '--max-connections-per-ip', '8', '--log-level', 'info'],
      }));
    });
    after(() => close());

    test('bogus Org-API-Keys are rate limited per address before authentication', async () => {
      const codes: string[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await fetch(`${server.url}/v1/conversations`, {
          headers: { authorization: `Bearer ck_live_bogus${i}` },
        });
        codes.push(((await r.json()) as { error: { code: string } }).error.code);
        if (r.status === 429) assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      }
      assert.ok(codes.includes('API_KEY_INVALID'));
      assert.ok(codes.includes('RATE_LIMITED'), codes.join(','));
      assert.ok(codes.indexOf('RATE_LIMITED') >= 25, 'not before the limit');
    });

    test('past --max-connections-per-ip a new connection gets 429 TOO_MANY_CONNECTIONS (logged); a freed slot is reused', async () => {
      const { hostname, port } = new URL(server.url);
      const held: Socket[] = [];
      for (let i = 0; i < 8; i++) {
        const s = connect(Number(port), hostname);
        await once(s, 'connect');
        held.push(s);
      }
      // Every held socket is known to the server once one of them has been answered on it.
      held[7]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(held[7]!, 'data');
      const refused = await rawRequest(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(refused.status, 429);
      assert.equal(envelope(refused).code, 'TOO_MANY_CONNECTIONS');
      await assertLogged(server, refused);
      held.shift()!.destroy();
      // The server sees the close asynchronously: retry until the slot is free (bounded).
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline) {
        const r = await rawRequest(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        status = r.status;
        if (status === 200) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(status, 200);
      for (const s of held) s.destroy();
    });
  });
});

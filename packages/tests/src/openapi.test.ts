import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES, WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT } from '@concierge/protocol';
import { OPERATIONS, SECURITY_SCHEMES, securityOf, type Operation } from '@concierge/protocol/contract';
import { Api, STORES, withServer } from './harness/index.js';

/**
 * The OpenAPI document is built from the route schemas. These keep its three copies in step: the one the server
 * serves, docs/openapi.json (written by `npm run build`), and docs/api.md, the hand-written reference.
 * (Compiled to packages/tests/dist, hence three levels up to the repository root.)
 */
const COMMITTED = new URL('../../../docs/openapi.json', import.meta.url);
const API_MD = new URL('../../../docs/api.md', import.meta.url);

type DocOperation = { method: string; path: string; op: any };

function operations(doc: any): DocOperation[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** The codes an operation declares: its error answers' descriptions name them, one per line (`CODE`: why). */
function declaredCodes(op: any): string[] {
  return Object.entries(op.responses as Record<string, { description: string }>)
    .filter(([status]) => Number(status) >= 400)
    .flatMap(([, r]) => [...r.description.matchAll(/^`([A-Z_]+)`:/gm)].map((m) => m[1]!));
}

const committed = (): any => JSON.parse(readFileSync(COMMITTED, 'utf8'));

for (const store of STORES) {
  describe(`OpenAPI document [${store.name}]`, () => {
    let close: () => Promise<void>;
    let api: Api;
    before(async () => {
      let server;
      ({ server, close } = await withServer(store));
      api = new Api(server.url);
    });
    after(() => close());

    test('the served document is docs/openapi.json (run `npm run build` after changing a route schema)', async () => {
      const r = await api.get('/openapi.json');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(r.json, committed());
    });
  });
}

describe('OpenAPI document', () => {
  const doc = committed();
  const ops = operations(doc);

  test('is OpenAPI 3.1, each operation with the security of its callers, and the ops routes open', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.security, undefined);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), Object.keys(SECURITY_SCHEMES).sort());
    const table = Object.values(OPERATIONS) as Operation[];
    assert.equal(ops.length, table.length);
    for (const { method, path, op } of ops) {
      const entry = table.find((o) => o.operationId === op.operationId)!;
      assert.equal(`${entry.method} ${entry.path}`, `${method} ${path}`);
      assert.deepEqual(op.security, securityOf(entry), path);
    }
    for (const { path, op } of ops.filter((o) => !o.path.startsWith('/v1/'))) assert.deepEqual(op.security, [], path);
    // A member token, an agent's and the Org-API-Key each reach some operation the others do not.
    for (const scheme of ['memberToken', 'agentToken', 'orgApiKey', 'streamTicket'])
      assert.ok(
        ops.some(({ op }) => op.security.some((s: object) => scheme in s)),
        scheme,
      );
  });

  test('the webhooks section names a component for the body of every event the server sends', () => {
    const types = [...WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT];
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [...types].sort());
    const component = (ref: string) => {
      const m = /^#\/components\/schemas\/(\w+)$/.exec(ref);
      assert.ok(m !== null, ref);
      assert.ok(doc.components.schemas[m[1]!] !== undefined, ref);
      return doc.components.schemas[m[1]!];
    };
    for (const type of types) {
      const body = component(doc.webhooks[type].post.requestBody.content['application/json'].schema.$ref);
      assert.deepEqual(body.properties.type, { type: 'string', const: type });
      assert.deepEqual(body.required, ['type', 'timestamp', 'data']);
      component(body.properties.data.$ref);
    }
  });

  test('the public document names no issue', () => {
    assert.doesNotMatch(JSON.stringify(doc), /#\d+|\bissues?\s+\d+|\/issues\//i);
  });

  test('every POST and PUT documents Idempotency-Key, the {id} routes included', () => {
    const writes = ops.filter((o) => o.method === 'POST' || o.method === 'PUT');
    assert.ok(writes.some((o) => o.path.includes('{id}')));
    for (const { method, path, op } of writes) {
      const header = (op.parameters as any[]).find((p) => p.in === 'header' && p.name === 'idempotency-key');
      assert.ok(header !== undefined, `${method} ${path} has no Idempotency-Key`);
      assert.equal(header.required, false);
    }
  });

  test('stream routes answer text/event-stream and describe their events', () => {
    const streams = ops.filter((o) => o.path.endsWith('/stream'));
    assert.equal(streams.length, 2);
    for (const { path, op } of streams) {
      const sse = op.responses['200'].content['text/event-stream'];
      assert.ok(sse !== undefined, path);
      assert.ok(sse.schema.properties?.data !== undefined || sse.schema.oneOf !== undefined, path);
      assert.ok(
        op.parameters.some((p: any) => p.in === 'header' && p.name === 'last-event-id'),
        path,
      );
    }
    const events = ops.find((o) => o.path === '/v1/stream')!.op.responses['200'].content['text/event-stream'].schema;
    assert.deepEqual(
      events.oneOf.map((e: any) => e.properties.event.enum[0]),
      ['message', 'conversation', 'read', 'typing', 'conversation.updated', 'note', 'webhook.disabled'],
    );
  });

  test('every error answer is the envelope of its status', () => {
    for (const { method, path, op } of ops)
      for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) < 400) continue;
        assert.equal(r.content['application/json'].schema.$ref, `#/components/schemas/Error${status}`);
        for (const code of declaredCodes(op).filter(
          (c) => ERROR_CODES[c as keyof typeof ERROR_CODES].status === +status,
        ))
          assert.ok(r.description.includes(`\`${code}\``), `${method} ${path} ${status} ${code}`);
      }
  });

  test('docs/api.md has every route and every code of the document, and no other', () => {
    const markdown = readFileSync(API_MD, 'utf8');
    const documented = new Set(
      [...markdown.matchAll(/^###\s+`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`/gm)].map((m) => `${m[1]} ${m[2]}`),
    );
    // `GET /metrics` is on the metrics listener (its own port), not on the server the document describes.
    documented.delete('GET /metrics');
    const declared = new Set(ops.map((o) => `${o.method} ${o.path}`));
    assert.deepEqual([...documented].sort(), [...declared].sort());

    const known = new Set(Object.keys(ERROR_CODES));
    const mentioned = new Set(
      [...markdown.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => known.has(c)),
    );
    const codes = new Set(ops.flatMap((o) => declaredCodes(o.op)));
    assert.deepEqual([...mentioned].sort(), [...codes].sort());
  });
});

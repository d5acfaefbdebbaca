import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STORES, withServer, type TestServer } from './harness/index.js';

/**
 * The server serves the built console itself at /console (so `npm install && npm start` gives a working
 * console with no second process), with its SPA fallback for the setup link, and `--console false` turns it off.
 * Static serving does not touch the store: one store is enough.
 */
const store = STORES[0]!;

async function get(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(new URL(path, server.url), { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('the console at /console', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    ({ server, close } = await withServer(store));
  });
  after(async () => close?.());

  test('the page, the setup link and any deep link get the app; its assets are cached for good', async () => {
    const page = await get(server, '/console/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const script = /<script type="module"[^>]* src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(script !== undefined, page.text);
    for (const path of ['/console', '/console/setup', '/console/setup?x=1', '/console/anything/deeper']) {
      const other = await get(server, path);
      assert.equal(other.status, 200, path);
      assert.equal(other.text, page.text, path);
    }
    const asset = await get(server, script);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  });

  test('every console path carries the page protections: CSP with frame-ancestors, no referrer, no sniffing', async () => {
    const page = await get(server, '/console/');
    const script = /<script type="module"[^>]* src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(script !== undefined);
    // /console/index.html is the page itself, served as a file: framed there, the app would run clickjackable.
    for (const path of ['/console', '/console/', '/console/index.html', '/console/setup', script, '/console/nope.js']) {
      const res = await get(server, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'/, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    }
    const file = await get(server, '/console/index.html');
    assert.equal(file.status, 200);
    assert.equal(file.text, page.text);
  });

  test('a missing asset is a 404 in the error envelope, not the page', async () => {
    const missing = await get(server, '/console/assets/nope-123.js');
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.text) as { error: { code: string } }).error.code, 'NOT_FOUND');
    assert.equal((await get(server, '/console/assets/../../package.json')).status, 404);
  });

  test('a range or a precondition an asset cannot meet keeps its HTTP status (416 with Content-Range, 412)', async () => {
    const page = await get(server, '/console/');
    const script = /<script type="module"[^>]* src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(script !== undefined);
    const part = await get(server, script, { range: 'bytes=0-9' });
    assert.equal(part.status, 206);
    assert.equal(part.text.length, 10);
    const beyond = await get(server, script, { range: 'bytes=99999999-' });
    assert.equal(beyond.status, 416);
    assert.match(beyond.headers.get('content-range') ?? '', /^bytes \*\/\d+$/);
    const changed = await get(server, script, { 'if-match': '"not-this-one"' });
    assert.equal(changed.status, 412);
  });

  test('the console routes are not in the OpenAPI document', async () => {
    const doc = JSON.parse((await get(server, '/openapi.json')).text) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(doc.paths).filter((p) => p.startsWith('/console')),
      [],
    );
  });
});

describe('--console false', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    ({ server, close } = await withServer(store, { args: ['--console', 'false'] }));
  });
  after(async () => close?.());

  test('turns the console off: /console is an unknown path', async () => {
    for (const path of ['/console', '/console/', '/console/setup']) {
      const res = await get(server, path);
      assert.equal(res.status, 404, path);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
  });
});

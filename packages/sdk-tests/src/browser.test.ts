import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { STORES } from '@concierge/tests/harness';
import { memberBundle } from './lib/bundle.js';
import { startFixture, until, type Fixture } from './lib/fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI !== undefined)
  throw new Error(`${CHROMIUM} is missing: CI must run scripts/ensure-chromium.sh before the tests.`);
if (missing) console.log(`# ${CHROMIUM} not found: the browser test is skipped (run scripts/ensure-chromium.sh).`);

/** The page's origin: a tiny static server on another port than the API, so every call is cross-origin. */
async function staticSite(bundle: string): Promise<{ url: string; server: Server }> {
  const page =
    '<!doctype html><meta charset="utf-8"><title>Concierge SDK</title><script type="module" src="/sdk.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const store = STORES[0]!;
describe('the member client in a real browser (headless Chromium)', { skip: missing }, () => {
  let f: Fixture;
  let site: { url: string; server: Server };
  let profile: string;
  let context: import('playwright-core').BrowserContext;

  before(async () => {
    f = await startFixture(store);
    site = await staticSite((await memberBundle()).code);
    profile = mkdtempSync(join(tmpdir(), 'concierge-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  });
  after(async () => {
    await context?.close();
    site?.server.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    await f?.close();
  });

  test('lists, sends and streams against the real server through CORS', async () => {
    const { accessToken } = await f.token('browser-member');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.url);

    // In the page: open a conversation, send twice with one key, list, then stream until two messages arrive.
    const opened = await page.evaluate(
      async ({ baseURL, token }) => {
        // A string-typed specifier, so the compiler does not try to resolve the page's URL as a module.
        const specifier: string = '/sdk.js';
        const sdk = (await import(specifier)) as typeof import('@concierge/sdk');
        const client = new sdk.Concierge({ baseURL, token });
        const conversation = await client.openConversation({ title: 'From the browser' });
        const first = await client.sendMessage(
          { conversationID: conversation.id, message: 'hello from Chromium' },
          { idempotencyKey: 'browser-1' },
        );
        const again = await client.sendMessage(conversation.id, 'hello from Chromium', { idempotencyKey: 'browser-1' });
        const list = await client.listConversations();
        const page = await client.listMessages({ conversationID: conversation.id });
        let notFound = '';
        try {
          await client.listMessages({ conversationID: 'nope' });
        } catch (e) {
          notFound =
            e instanceof sdk.NotFoundError ? `${e.code} ${e.requestID === null ? 'no id' : 'with id'}` : String(e);
        }
        const w = window as unknown as { received: string[]; done: Promise<void> };
        w.received = [];
        w.done = (async () => {
          for await (const m of client.streamMessages({ conversationID: conversation.id })) {
            w.received.push(m.body ?? '');
            if (w.received.length === 2) break;
          }
        })();
        return {
          id: conversation.id,
          replayed: [first.replayed, again.replayed],
          conversations: list.conversations.length,
          bodies: page.messages.map((m) => m.body),
          notFound,
        };
      },
      { baseURL: f.proxy.url, token: accessToken },
    );
    assert.deepEqual(opened.replayed, [false, true]);
    assert.equal(opened.conversations, 1);
    assert.deepEqual(opened.bodies, ['hello from Chromium']);
    assert.equal(opened.notFound, 'NOT_FOUND with id', 'error code and exposed x-request-id readable cross-origin');

    const route = `/v1/conversations/${opened.id}/stream`;
    await until(() => f.proxy.open(route) === 1, 'the browser stream to connect');
    await f.admin.sendMessage(opened.id, 'from the concierge');
    // Cut the browser's stream once: it resumes with Last-Event-ID (allowed by the server's CORS) and misses nothing.
    await until(() => f.proxy.seen('GET', route).length === 1 && f.proxy.open(route) === 1, 'the first connection');
    await page.waitForFunction(() => (window as unknown as { received: string[] }).received.length === 1);
    f.proxy.cut(route);
    await f.admin.sendMessage(opened.id, 'after the cut');
    await page.evaluate(() => (window as unknown as { done: Promise<void> }).done);
    const received = await page.evaluate(() => (window as unknown as { received: string[] }).received);
    assert.deepEqual(received, ['from the concierge', 'after the cut']);
    assert.ok(f.proxy.seen('OPTIONS', '/v1/').length > 0, 'the browser sent CORS preflights');
    const resumed = f.proxy.seen('GET', route).slice(1);
    assert.ok(resumed.length >= 1 && resumed[0]!.headers['last-event-id'] !== undefined);
    assert.deepEqual(errors, []);
  });
});

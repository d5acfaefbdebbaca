import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Api, linkToken, setup, STORES, withServer, type Org, type TestServer } from '@concierge/tests/harness';
import type { Browser, Page } from 'playwright-core';

/**
 * The console for a person who is an agent in two orgs (docs/console.md, "Several organisations"), in Debian's
 * Chromium against the real server: with two passwords each signs in to its own org from `/console/`; with one,
 * the rail's org switcher moves between the two inboxes, and the browser comes back to the org it last worked in.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const PW_A = 'first org password 1';
const PW_B = 'second org password 2';

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI !== undefined)
  throw new Error(`${CHROMIUM} is missing: CI must run scripts/ensure-chromium.sh before the tests.`);

const row = (page: Page, conversationID: string) => page.locator(`.rows [data-conversation="${conversationID}"]`);

const store = STORES[0]!;
describe('the console for an agent in two orgs (headless Chromium)', { skip: missing }, () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let api: Api;
  let browser: Browser;
  let orgA: Org;
  let orgB: Org;
  let convA: string;
  let convB: string;
  const pageErrors: string[] = [];

  /** A conversation in `org` with a member's message, so it is listed under Unassigned. */
  async function conversation(org: Org, externalUserID: string): Promise<string> {
    const token = await api.memberToken(org.apiKey, externalUserID);
    const id = await api.openConversation(token);
    assert.equal((await api.send(token, id, `hello from ${externalUserID}`)).status, 200);
    return id;
  }

  async function agentWithPassword(org: Org, email: string, password: string): Promise<void> {
    const r = await api.post('/v1/agents', { token: org.apiKey, body: { email, name: email.split('@')[0] } });
    assert.equal(r.status, 201, r.text);
    await setup(api, linkToken(r.json.signInLink), password);
  }

  /** A new browser context at `/console/`, signed in with email and password as a person would. */
  async function signIn(email: string, password: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Unassigned' }).waitFor();
    return page;
  }

  before(async () => {
    ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
    api = new Api(server.url);
    orgA = server.org;
    orgB = await server.createOrg('Beta');
    convA = await conversation(orgA, 'alpha-member');
    convB = await conversation(orgB, 'beta-member');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await close?.();
  });

  test('with a password per org, each signs in from /console/ to its own inbox', async () => {
    await agentWithPassword(orgA, 'ann@two.example', PW_A);
    await agentWithPassword(orgB, 'ann@two.example', PW_B);
    const inA = await signIn('ann@two.example', PW_A);
    await row(inA, convA).waitFor();
    assert.equal(await row(inA, convB).count(), 0);
    assert.equal(await inA.getByLabel('Organisation').count(), 0, 'one org: no switcher');
    const inB = await signIn('ann@two.example', PW_B);
    await row(inB, convB).waitFor();
    assert.equal(await row(inB, convA).count(), 0);
    await inA.context().close();
    await inB.context().close();
  });

  test('with one password, the switcher moves between the two inboxes and the browser keeps the last org', async () => {
    await agentWithPassword(orgA, 'sam@two.example', PW_A);
    await agentWithPassword(orgB, 'sam@two.example', PW_A);
    const page = await signIn('sam@two.example', PW_A);
    await row(page, convA).waitFor();
    const picker = page.getByLabel('Organisation');
    assert.equal(await picker.inputValue(), orgA.orgID);
    await picker.selectOption({ label: 'Beta' });
    await row(page, convB).waitFor();
    assert.equal(await row(page, convA).count(), 0);
    assert.equal(await page.getByLabel('Organisation').inputValue(), orgB.orgID);
    // A reload resumes the session the cookie now holds: org B.
    await page.reload();
    await row(page, convB).waitFor();
    // Signed out and in again, the browser lands in the org it last worked in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').fill('sam@two.example');
    await page.getByLabel('Password').fill(PW_A);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await row(page, convB).waitFor();
    assert.equal(await page.getByLabel('Organisation').inputValue(), orgB.orgID);
    assert.deepEqual(pageErrors, []);
  });

  test('a refresh that races the switch (requests refused with the ended session) signs nobody out', async () => {
    await agentWithPassword(orgA, 'kim@two.example', PW_A);
    await agentWithPassword(orgB, 'kim@two.example', PW_A);
    const page = await signIn('kim@two.example', PW_A);
    // The inbox loads once the live stream is open.
    await row(page, convA).waitFor();
    // The switch ends org A's session and cuts its stream at once, and the page reloads its lists. Its answer is
    // held until a request of the page has been refused with that session's token, which is when the client
    // refreshes. A refresh sent then carries the old cookie: its refusal (which clears the cookie) is held in turn
    // until the switch is through, the order a slow network gives.
    let switched: () => void = () => {};
    const switchDone = new Promise<void>((resolve) => (switched = resolve));
    const refused = page.waitForResponse((r) => r.status() === 401 && !r.url().includes('/v1/agent-auth/'));
    refused.catch(() => {}); // awaited by the switch's route; a failure shows there
    const refreshes: Promise<void>[] = [];
    await page.route('**/v1/agent-auth/refresh', (route) => {
      const held = (async () => {
        const response = await route.fetch();
        await switchDone;
        const finished = page.waitForEvent('requestfinished', { predicate: (r) => r === route.request() });
        await route.fulfill({ response });
        await finished;
      })();
      refreshes.push(held);
      return held;
    });
    await page.route('**/v1/agent-auth/switch', async (route) => {
      const response = await route.fetch();
      await refused;
      await route.fulfill({ response });
      switched();
    });
    await page.getByLabel('Organisation').selectOption({ label: 'Beta' });
    await row(page, convB).waitFor();
    await Promise.all(refreshes);
    await page.unrouteAll();
    // Still in org B, and the cookie still holds its session: a reload resumes it.
    assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0);
    await page.reload();
    await row(page, convB).waitFor();
    assert.equal(await page.getByLabel('Organisation').inputValue(), orgB.orgID);
    assert.deepEqual(pageErrors, []);
  });
});

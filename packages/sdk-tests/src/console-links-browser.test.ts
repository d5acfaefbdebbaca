import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, firstAdmin, newAgent, STORES, withServer, type TestServer } from '@concierge/tests/harness';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, DESKTOP, launchChromium, PHONE, row, signedInPage } from './lib/console-page.js';

/**
 * Every view, search and conversation of the console has its own URL (docs/console.md, "Links"), in Debian's
 * Chromium against the real server: a reload reopens what was open, Back and Forward move between what was opened,
 * and a link opened in another agent's browser lands on the same conversation after sign-in, or says plainly that
 * it cannot be opened.
 */
const missing = chromiumMissing();

const threadOf = (page: Page, name: string) => page.locator('.thread-name', { hasText: name });
const path = (page: Page) => {
  const url = new URL(page.url());
  return url.pathname + url.search;
};

const store = STORES[0]!;
describe('a URL for every view of the console (headless Chromium)', { skip: missing }, () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let browser: Browser;
  let base: string;
  let grace: string;
  let ada: string;
  let elsewhere: string;
  const pageErrors: string[] = [];

  before(async () => {
    ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
    base = `${server.url}/console/`;
    const api = new Api(server.url);
    const admin = await firstAdmin(api, server);
    await newAgent(api, admin.token, 'bea@club.example');
    const conversation = async (apiKey: string, externalUserID: string, displayName: string, text: string) => {
      const token = await api.memberToken(apiKey, externalUserID, { displayName });
      const id = await api.openConversation(token);
      assert.equal((await api.send(token, id, text)).status, 200);
      return id;
    };
    grace = await conversation(server.org.apiKey, 'grace.h', 'Grace Hopper', 'Two seats for the matinee?');
    ada = await conversation(server.org.apiKey, 'ada', 'Ada Lovelace', 'A table for two at eight.');
    const other = await server.createOrg('Other club');
    elsewhere = await conversation(other.apiKey, 'olga', 'Olga', 'Not yours to read.');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await close?.();
  });

  test('a conversation, a view and a search each have a URL: reload reopens it, Back and Forward move', async () => {
    const page = await signedInPage(browser, base, 'admin@localhost', DESKTOP, pageErrors);
    await row(page, grace).click();
    await threadOf(page, 'Grace Hopper').waitFor();
    assert.equal(path(page), `/console/c/${grace}?member=grace.h`);
    await page.reload();
    await threadOf(page, 'Grace Hopper').waitFor();
    await page.locator(`.rows [data-conversation="${grace}"][aria-current="true"]`).waitFor();

    await row(page, ada).click();
    await threadOf(page, 'Ada Lovelace').waitFor();
    await page.goBack();
    await threadOf(page, 'Grace Hopper').waitFor();
    assert.equal(path(page), `/console/c/${grace}?member=grace.h`);
    await page.goForward();
    await threadOf(page, 'Ada Lovelace').waitFor();

    // A view keeps the open conversation and has its own URL.
    await page.getByRole('button', { name: /^All open/ }).click();
    await page.getByRole('heading', { name: 'All open' }).waitFor();
    assert.equal(path(page), `/console/c/${ada}?member=ada&view=open`);
    await page.reload();
    await page.getByRole('heading', { name: 'All open' }).waitFor();
    await threadOf(page, 'Ada Lovelace').waitFor();

    // A search: one history entry however many keys were typed; reload keeps it.
    await page.getByLabel('Search conversations').pressSequentially('matinee');
    await page.getByRole('heading', { name: 'Search results' }).waitFor();
    await row(page, ada).waitFor({ state: 'detached' });
    assert.equal(path(page), `/console/c/${ada}?member=ada&view=open&q=matinee`);
    await page.reload();
    await row(page, grace).waitFor();
    assert.equal(await page.getByLabel('Search conversations').inputValue(), 'matinee');
    await page.goBack();
    await page.getByRole('heading', { name: 'All open' }).waitFor();
    assert.equal(await page.getByLabel('Search conversations').inputValue(), '');
    await page.goBack();
    await page.getByRole('heading', { name: 'Unassigned' }).waitFor();
    await threadOf(page, 'Ada Lovelace').waitFor();

    // Team and Sessions too.
    await page.getByRole('button', { name: 'Sessions' }).click();
    await page.getByText('This browser').waitFor();
    assert.equal(path(page), '/console/sessions');
    await page.goBack();
    await threadOf(page, 'Ada Lovelace').waitFor();
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  test('a link opened in another agent’s browser lands on the conversation after sign-in, on a phone too', async () => {
    const link = `${base}c/${grace}?member=grace.h`;
    const page = await signedInPage(browser, link, 'bea@club.example', DESKTOP, pageErrors);
    await threadOf(page, 'Grace Hopper').waitFor();
    assert.equal(path(page), `/console/c/${grace}?member=grace.h`);
    await page.context().close();

    const phone = await signedInPage(browser, link, 'bea@club.example', PHONE, pageErrors);
    await threadOf(phone, 'Grace Hopper').waitFor();
    assert.equal(await phone.locator('.inbox').isVisible(), false, 'the thread, not the list');
    await phone.getByRole('button', { name: 'Back to Unassigned' }).tap();
    await row(phone, grace).waitFor();
    assert.equal(path(phone), '/console/');
    await phone.context().close();

    // Without the member in the link (typed by hand), the conversation is still found.
    const bare = await signedInPage(browser, `${base}c/${ada}`, 'bea@club.example', DESKTOP, pageErrors);
    await threadOf(bare, 'Ada Lovelace').waitFor();
    await bare.context().close();
    assert.deepEqual(pageErrors, []);
  });

  test('a link to a conversation the agent may not see says so', async () => {
    const page = await signedInPage(
      browser,
      `${base}c/${elsewhere}?member=olga`,
      'bea@club.example',
      DESKTOP,
      pageErrors,
    );
    await page.getByRole('alert').filter({ hasText: 'This conversation cannot be opened here.' }).waitFor();
    assert.equal(await page.getByText('Not yours to read.').count(), 0);
    await page.getByRole('button', { name: 'Back to the inbox' }).click();
    await row(page, grace).waitFor();
    assert.equal(path(page), '/console/');
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });
});

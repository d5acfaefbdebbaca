import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Concierge } from '@concierge/sdk';
import { STORES } from '@concierge/tests/harness';
import type { Browser, Page } from 'playwright-core';
import { linkToken, seriousViolations } from './lib/console-page.js';
import { startFixture, type Fixture } from './lib/fixture.js';

/**
 * The console as a desk the team works at all day, in Debian's Chromium against the real server: nothing an agent
 * typed is lost (drafts per conversation, a reply the server refused), the length limit shows before a send, a
 * plain agent sees colleagues by name, right-to-left text reads right to left, search shows every word it found,
 * and sessions are named by browser and system. The server runs with a 300-character limit, so the counter is
 * reached with short texts.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const PASSWORD = 'correct horse battery staple';
const LIMIT = 300;
/** Bea's browser says it is Chrome on a Mac: the sessions list names it so. */
const MAC_CHROME =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI !== undefined)
  throw new Error(`${CHROMIUM} is missing: CI must run scripts/ensure-chromium.sh before the tests.`);

async function setUpPassword(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/console/setup#token=${token}`);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Unassigned' }).waitFor();
}

const row = (page: Page, conversationID: string) => page.locator(`.rows [data-conversation="${conversationID}"]`);
const entry = (page: Page, text: string) => page.locator('.timeline .entries > li', { hasText: text });
const composer = (page: Page) => page.locator('.composer textarea');
const opened = (page: Page, conversationID: string) =>
  page.locator(`.rows [data-conversation="${conversationID}"][aria-current="true"]`).waitFor();

const store = STORES[0]!;
describe(
  'the console as a desk: drafts, limits, names, scripts, search, sessions (headless Chromium)',
  {
    skip: missing,
  },
  () => {
    let f: Fixture;
    let browser: Browser;
    let ann: Page;
    let bea: Page;
    let base: string;
    let adaConv: { id: string };
    let laylaConv: { id: string };
    const pageErrors: string[] = [];

    before(async () => {
      f = await startFixture(store, ['--max-message-chars', String(LIMIT)]);
      base = f.proxy.url;
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
      const viewport = { width: 1440, height: 900 };
      ann = await (await browser.newContext({ viewport })).newPage();
      bea = await (await browser.newContext({ viewport, userAgent: MAC_CHROME })).newPage();
      for (const page of [ann, bea]) page.on('pageerror', (e) => pageErrors.push(e.message));

      // Ann is the first-start admin (renamed Ann); Bea a plain agent, whose console has never listed the team.
      await setUpPassword(ann, base, linkToken(f.server.stdout));
      const agents = await f.api.call('GET', '/v1/agents', { token: f.server.org.apiKey });
      const annID = (agents.json.data as { id: string }[])[0]!.id;
      const renamed = await f.api.call('PATCH', `/v1/agents/${annID}`, {
        token: f.server.org.apiKey,
        body: { name: 'Ann Admin' },
      });
      assert.equal(renamed.status, 200, renamed.text);
      const created = await f.api.call('POST', '/v1/agents', {
        token: f.server.org.apiKey,
        body: { email: 'bea@club.example', name: 'Bea', role: 'agent' },
      });
      assert.equal(created.status, 201, created.text);
      await setUpPassword(bea, base, linkToken(created.json.signInLink));

      const member = async (externalUserID: string, displayName: string) => {
        const t = await f.admin.exchangeToken({ externalUserID, displayName });
        return new Concierge({ baseURL: f.server.url, token: t.accessToken, tokenExpiresAt: t.expiresAt });
      };
      const ada = await member('ada', 'Ada Lovelace');
      adaConv = await ada.openConversation({ title: 'Dinner' });
      await ada.sendMessage(
        adaConv.id,
        'Could you book the sommelier dinner for the four of us, somewhere quiet with a view of the water, ' +
          'nothing too formal, near the harbour, on Thursday evening?',
      );
      const layla = await member('layla', 'ليلى');
      laylaConv = await layla.openConversation({ title: 'Table' });
      await layla.sendMessage(laylaConv.id, 'مرحبا، أريد حجز طاولة لشخصين مساء الجمعة.');
      await row(bea, laylaConv.id).waitFor();
      await row(bea, adaConv.id).waitFor();

      // Ann takes Ada's conversation, replies and leaves a note.
      await row(ann, adaConv.id).click();
      await ann.keyboard.press('Escape');
      await ann.keyboard.press('a');
      await ann.locator('.thread .state', { hasText: 'Open · You' }).waitFor();
      await composer(ann).fill('Booked for Thursday at eight.');
      await ann.keyboard.press('Enter');
      await entry(ann, 'Booked for Thursday at eight.').locator('.meta').waitFor();
      await ann.getByRole('radio', { name: 'Internal note' }).check();
      await composer(ann).fill('Ask the sommelier about a dry white.');
      await ann.keyboard.press('Enter');
      await ann.locator('.timeline li.note', { hasText: 'dry white' }).waitFor();
      await ann.locator('.entries > li.pending').waitFor({ state: 'detached' });
    });
    after(async () => {
      await browser?.close();
      await f?.close();
    });

    /** Bea's console on All open, with `conversationID` open. */
    async function openInAllOpen(conversationID: string): Promise<void> {
      await bea.keyboard.press('Escape');
      await bea.getByRole('button', { name: /^All open/ }).click();
      await row(bea, conversationID).click();
      await opened(bea, conversationID);
    }

    test("a plain agent sees colleagues' names on replies, notes and assignments", async () => {
      // Bea, a plain agent, sees Ann by name on the reply, the note and the assignment: never "Another agent".
      await bea.getByRole('button', { name: /^All open/ }).click();
      await row(bea, adaConv.id).locator('.tag.assignee', { hasText: 'Ann Admin' }).waitFor();
      await row(bea, adaConv.id).click();
      await entry(bea, 'Booked for Thursday at eight.').locator('.meta', { hasText: 'Ann Admin' }).waitFor();
      await bea.locator('.timeline li.note .note-head', { hasText: 'Ann Admin' }).waitFor();
      await bea.locator('.thread .state', { hasText: 'Open · Ann Admin' }).waitFor();
      await bea.locator('.member', { hasText: 'Ann Admin' }).waitFor();
      assert.equal(await bea.getByText('Another agent').count(), 0);
    });

    test('right-to-left text is laid out right to left, by its own content', async () => {
      await openInAllOpen(laylaConv.id);
      const arabic = entry(bea, 'مرحبا').locator('.body');
      await arabic.waitFor();
      assert.equal(await arabic.evaluate((el) => getComputedStyle(el).direction), 'rtl');
    });

    test('a draft per conversation, kept across switching and reloads, marked in the list, cleared when sent', async () => {
      // Typed in Ada's, kept while Bea works in Layla's, and marked in the list.
      await openInAllOpen(adaConv.id);
      await composer(bea).fill('Half-written: the harbour place has a table at');
      await bea.keyboard.press('Escape');
      await bea.keyboard.press('j');
      await opened(bea, laylaConv.id);
      await entry(bea, 'مرحبا').waitFor();
      assert.equal(await composer(bea).inputValue(), '', "Layla's composer is her own");
      await row(bea, adaConv.id).locator('.tag.draft').waitFor();
      assert.equal(await row(bea, laylaConv.id).locator('.tag.draft').count(), 0);
      await composer(bea).fill('شكرا');
      await bea.keyboard.press('Escape');
      await bea.keyboard.press('k');
      await opened(bea, adaConv.id);
      await bea.waitForFunction(
        () => document.querySelector<HTMLTextAreaElement>('.composer textarea')?.value.startsWith('Half-written'),
        undefined,
        { timeout: 5000 },
      );
      // Across a reload, both drafts and their marks are still there.
      await bea.reload();
      await bea.getByRole('button', { name: /^All open/ }).click();
      await row(bea, laylaConv.id).locator('.tag.draft').waitFor();
      await row(bea, adaConv.id).locator('.tag.draft').click();
      assert.equal(await composer(bea).inputValue(), 'Half-written: the harbour place has a table at');
      await composer(bea).fill('The harbour place has a table at eight.');
      await bea.keyboard.press('Enter');
      await entry(bea, 'The harbour place has a table at eight.').locator('.meta', { hasText: 'You' }).waitFor();
      assert.equal(await composer(bea).inputValue(), '');
      await row(bea, adaConv.id).locator('.tag.draft').waitFor({ state: 'detached' });
    });

    test('the length limit shows as the agent nears it; over it, nothing is sent and the text stays', async () => {
      await openInAllOpen(adaConv.id);
      const near = `Half-written: the harbour place has a table at eight. ${'x'.repeat(200)}`;
      await composer(bea).fill(near);
      await bea.locator('.counter', { hasText: `${near.length} / ${LIMIT} characters` }).waitFor();
      const overText = `${near} ${'y'.repeat(LIMIT - near.length + 9)}`;
      await composer(bea).fill(overText);
      await bea.locator('.counter.over', { hasText: `10 characters over the limit of ${LIMIT}` }).waitFor();
      assert.equal(await composer(bea).getAttribute('aria-invalid'), 'true');
      const sendsBefore = f.proxy.seen('POST', `/v1/conversations/${adaConv.id}/messages`).length;
      await composer(bea).press('Enter');
      assert.equal(await composer(bea).inputValue(), overText, 'the text stays as typed');
      assert.equal(f.proxy.seen('POST', `/v1/conversations/${adaConv.id}/messages`).length, sendsBefore, 'no send');
      assert.deepEqual(await seriousViolations(bea), [], 'the composer with its counter');
      await composer(bea).fill('');
    });

    test('a reply the server refuses stays in the composer with the reason, across navigation and reloads', async () => {
      await openInAllOpen(adaConv.id);
      const refusal = {
        error: {
          code: 'VALIDATION',
          message: 'message: must be at most 300 characters',
          field: 'message',
          retryable: false,
          requestID: 'req_test',
        },
      };
      f.proxy.inject((m, p) => m === 'POST' && p === `/v1/conversations/${adaConv.id}/messages`, {
        kind: 'respond',
        status: 422,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(refusal),
      });
      await composer(bea).fill('A reply the server will refuse.');
      await bea.keyboard.press('Enter');
      await bea.locator('.composer-refused', { hasText: 'must be at most 300 characters' }).waitFor();
      assert.equal(await composer(bea).inputValue(), 'A reply the server will refuse.');
      assert.equal(await bea.locator('.entries > li.pending').count(), 0, 'no Retry that can never succeed');
      await bea.keyboard.press('Escape');
      await bea.keyboard.press('j');
      await opened(bea, laylaConv.id);
      await bea.keyboard.press('k');
      await opened(bea, adaConv.id);
      await bea.locator('.composer-refused').waitFor();
      await bea.reload();
      await bea.getByRole('button', { name: /^All open/ }).click();
      await row(bea, adaConv.id).click();
      await bea.locator('.composer-refused').waitFor();
      assert.equal(await composer(bea).inputValue(), 'A reply the server will refuse.');
      await bea.locator('.composer-refused').getByRole('button', { name: 'Discard' }).click();
      assert.equal(await composer(bea).inputValue(), '');
      await bea.locator('.composer-refused').waitFor({ state: 'detached' });
    });

    test('a send that failed on the way is kept with Retry across a switch of conversation', async () => {
      await openInAllOpen(adaConv.id);
      f.proxy.inject((m, p) => m === 'POST' && p === `/v1/conversations/${adaConv.id}/messages`, { kind: 'reset' }, 3);
      await composer(bea).fill('Sent through a bad network.');
      await bea.keyboard.press('Enter');
      await entry(bea, 'Sent through a bad network.').getByRole('button', { name: 'Retry' }).waitFor();
      await bea.keyboard.press('Escape');
      await bea.keyboard.press('j');
      await opened(bea, laylaConv.id);
      await bea.keyboard.press('k');
      await opened(bea, adaConv.id);
      await entry(bea, 'Sent through a bad network.').getByRole('button', { name: 'Retry' }).click();
      await bea.locator('.entries > li.pending').waitFor({ state: 'detached' });
      await entry(bea, 'Sent through a bad network.').locator('.meta', { hasText: 'You' }).waitFor();
    });

    test('search highlights every word it found, however far apart in the message', async () => {
      await bea.keyboard.press('Escape');
      await bea.keyboard.press('/');
      await bea.keyboard.type('sommelier thursday');
      await bea.getByRole('heading', { name: 'Search results' }).waitFor();
      const marks = row(bea, adaConv.id).locator('.row-preview mark');
      await marks.nth(1).waitFor();
      assert.deepEqual((await marks.allTextContents()).map((t) => t.toLowerCase()).sort(), ['sommelier', 'thursday']);
      await bea.getByLabel('Search conversations').fill('');
    });

    test('sessions are named by browser and system', async () => {
      await bea.getByRole('button', { name: 'Sessions' }).click();
      await bea.locator('.sessions li', { hasText: 'This browser' }).getByText('Chrome 131 on macOS').waitFor();
      assert.equal(await bea.getByText(MAC_CHROME).count(), 0, 'not the raw string');
      assert.deepEqual(pageErrors, []);
    });
  },
);

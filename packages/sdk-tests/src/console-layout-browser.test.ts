import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, firstAdmin, STORES, withServer, type TestServer } from '@concierge/tests/harness';
import type { Browser, Page } from 'playwright-core';
import {
  axeViolations,
  box,
  chromiumMissing,
  DESKTOP,
  launchChromium,
  PHONE,
  row,
  screenshot,
  signedInPage,
  TABLET,
} from './lib/console-page.js';

/**
 * The console at a phone's, a tablet's and a desktop's size in Debian's Chromium against the real server
 * (docs/console.md, "Phones, tablets, desktops"): one pane at a time with a back control on a phone, every control big
 * enough for a finger, the member panel opened and closed at every size, right-to-left names and text laid out
 * right to left, a long email shown whole. Screenshots of each screen go to docs/console-screenshots/.
 */
const missing = chromiumMissing();
const LONG_EMAIL = 'alexandria.konstantinopoulou-vanderbilt.reservations@members.grand-hotel-example.com';
const ARABIC_NAME = 'ليلى حداد';
const HEBREW_TEXT = 'שלום, אני צריך מונית ל-Hilton בשעה שבע בבוקר';

/** Whether the element matching `selector` is rendered (a pane the layout hides is not). */
const shown = (page: Page, selector: string) => page.locator(selector).first().isVisible();
const direction = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((el) => getComputedStyle(el).direction);

/** Every visible control lower or narrower than 44 px (a fingertip's size), by its text. */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const controls = document.querySelectorAll<HTMLElement>(
      'button, a[href], select, textarea, input:not([type="radio"]), .modes label',
    );
    return [...controls]
      .filter((el) => el.getClientRects().length > 0 && !el.closest('.visually-hidden'))
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.height < 44 || r.width < 44;
      })
      .map((el) => `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 30)}"`);
  });
}

/** The long email is whole on screen: nothing of it scrolled away or cut off. */
async function emailWhole(page: Page): Promise<void> {
  const dd = page.locator('.member .facts dd', { hasText: 'grand-hotel-example.com' });
  assert.equal((await dd.innerText()).trim(), LONG_EMAIL);
  const fit = await dd.evaluate((el) => {
    const panel = el.closest('.member')!;
    const r = el.getBoundingClientRect();
    const p = panel.getBoundingClientRect();
    return {
      overflow: el.scrollWidth - el.clientWidth,
      panelOverflow: panel.scrollWidth - panel.clientWidth,
      inside: r.left >= p.left - 0.5 && r.right <= p.right + 0.5 && r.right <= window.innerWidth + 0.5,
    };
  });
  assert.deepEqual(fit, { overflow: 0, panelOverflow: 0, inside: true }, 'the email fits the member panel');
}

const store = STORES[0]!;
describe('the console on a phone, a tablet and a desktop (headless Chromium)', { skip: missing }, () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let browser: Browser;
  let base: string;
  let longConv: string;
  let rtlConv: string;
  let latinConv: string;
  const pageErrors: string[] = [];

  before(async () => {
    ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
    base = `${server.url}/console/`;
    const api = new Api(server.url);
    await firstAdmin(api, server);
    const member = async (externalUserID: string, profile: Record<string, string>, title: string, texts: string[]) => {
      const token = await api.memberToken(server.org.apiKey, externalUserID, profile);
      const id = await api.openConversation(token, { title });
      for (const text of texts) assert.equal((await api.send(token, id, text)).status, 200);
      return id;
    };
    latinConv = await member('grace', { displayName: 'Grace Hopper', tier: 'Silver' }, 'Theatre tickets', [
      'Two seats for Saturday’s matinee, if any are left?',
    ]);
    rtlConv = await member('layla', { displayName: ARABIC_NAME, tier: 'Gold' }, 'حجز سيارة', [HEBREW_TEXT]);
    longConv = await member(
      'alexandria',
      { displayName: 'Alexandria Konstantinopoulou', email: LONG_EMAIL, tier: 'Platinum' },
      'Airport transfer',
      [
        'Could you book a car to the airport for Thursday morning? The flight leaves at 9:40 from terminal 2.',
        'And a table for four at the rooftop restaurant on Friday, around eight, if the terrace is open.',
      ],
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await close?.();
  });

  test('at 390 × 844 one pane at a time, a back control, and every control big enough for a finger', async () => {
    const page = await signedInPage(browser, base, 'admin@localhost', PHONE, pageErrors);
    await row(page, longConv).waitFor();

    // The list: the whole width, the views in a strip above it, no thread beside it.
    assert.ok((await box(page, '.inbox')).width >= 380, 'the list takes the width');
    assert.equal(await shown(page, '.thread-pane'), false, 'no thread beside the list');
    assert.ok(await shown(page, '.rail'), 'the views are reachable');
    assert.deepEqual(await smallTargets(page), [], 'controls on the list');
    assert.deepEqual(await axeViolations(page), [], 'the list on a phone');
    await screenshot(page, 'phone-inbox');

    // A conversation by touch: the thread takes the screen, its reply box is a real one.
    await row(page, longConv).tap();
    await page.locator('.thread-name', { hasText: 'Alexandria' }).waitFor();
    assert.equal(await shown(page, '.inbox'), false, 'the list gives way to the thread');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'pane-title', 'the focus follows the screen');
    const thread = await box(page, '.thread');
    assert.ok(thread.width >= 380, `thread ${thread.width} px wide`);
    const reply = await box(page, '#reply');
    assert.ok(reply.height >= 80 && reply.width >= 250, `reply box ${reply.width} × ${reply.height}`);
    const bubble = await box(page, '.entry.msg .bubble');
    assert.ok(bubble.width >= 200, `a message bubble ${bubble.width} px wide`);
    assert.deepEqual(await smallTargets(page), [], 'controls on the thread');
    assert.deepEqual(await axeViolations(page), [], 'the thread on a phone');

    // Every action by touch: assign, reply, close.
    await page.getByRole('button', { name: 'Assign to me' }).tap();
    await page.locator('.thread .state', { hasText: 'Open · You' }).waitFor();
    await page.getByLabel('Reply to Alexandria Konstantinopoulou').fill('A car at 7:15, and the terrace at eight.');
    await page.getByRole('button', { name: 'Send' }).tap();
    await page.locator('.entries > li.msg.ours', { hasText: 'A car at 7:15' }).waitFor();
    await page.locator('.entries > li.pending').waitFor({ state: 'detached' });
    await screenshot(page, 'phone-thread');

    // The member: a pane of its own, the long email whole, and back to the thread.
    const toggle = page.getByRole('button', { name: 'Member details' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.tap();
    await page.locator('.member').waitFor();
    assert.equal(await shown(page, '.thread'), false, 'the member replaces the thread');
    assert.ok((await box(page, '.member')).width >= 380);
    await emailWhole(page);
    assert.deepEqual(await smallTargets(page), [], 'controls on the member panel');
    assert.deepEqual(await axeViolations(page), [], 'the member panel on a phone');
    await screenshot(page, 'phone-member');
    await page.getByRole('button', { name: 'Back to conversation' }).tap();
    await page.locator('.member').waitFor({ state: 'detached' });
    await page.locator('.thread-name', { hasText: 'Alexandria' }).waitFor();

    // The back control returns to the list (which the conversation, now assigned, left).
    await page.getByRole('button', { name: 'Back to Unassigned' }).tap();
    await row(page, latinConv).waitFor();
    await row(page, longConv).waitFor({ state: 'detached' });
    assert.ok(await shown(page, '.inbox'));
    assert.equal(await shown(page, '.thread-pane'), false);

    // Team and Sessions from the strip, each with its back control.
    await page.getByRole('button', { name: 'Team' }).tap();
    await page.getByRole('cell', { name: 'admin@localhost' }).waitFor();
    assert.equal(await shown(page, '.inbox'), false);
    assert.deepEqual(await smallTargets(page), [], 'controls on the team panel');
    assert.deepEqual(await axeViolations(page), [], 'the team panel on a phone');
    await screenshot(page, 'phone-team');
    await page.getByRole('button', { name: /^Back to / }).tap();
    await page.getByRole('button', { name: 'Sessions' }).tap();
    await page.getByText('This browser').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'the sessions panel on a phone');
    await screenshot(page, 'phone-sessions');
    await page.getByRole('button', { name: /^Back to / }).tap();
    await row(page, latinConv).waitFor();
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  test('at 1100 × 800 the list stays beside the thread, and the member panel opens over it and closes', async () => {
    const page = await signedInPage(browser, `${base}?view=open`, 'admin@localhost', TABLET, pageErrors);
    await row(page, latinConv).click();
    await page.locator('.thread-name', { hasText: 'Grace Hopper' }).waitFor();
    assert.ok(await shown(page, '.inbox'), 'the list stays');
    assert.equal(await shown(page, '.pane-bar .back'), false, 'no back control beside the list');
    assert.ok((await box(page, '.thread')).width >= 560);
    assert.ok((await box(page, '#reply')).height >= 60);
    assert.equal(await page.locator('.member').count(), 0, 'the member panel waits to be asked for');
    const toggle = page.getByRole('button', { name: 'Member details' });
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    // Over the thread: the focus moves into it, Escape closes it and gives the focus back.
    const focused = () =>
      page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);
    assert.equal(await focused(), 'Back to conversation');
    await page.keyboard.press('Escape');
    await page.locator('.member').waitFor({ state: 'detached' });
    assert.equal(await focused(), 'Member details');
    await toggle.click();
    const panel = await box(page, '.member');
    assert.ok(panel.width >= 300 && panel.x + panel.width <= 1100, `member panel at ${panel.x}, ${panel.width} px`);
    await row(page, longConv).click();
    await page.locator('.thread-name', { hasText: 'Alexandria' }).waitFor();
    await page.getByRole('button', { name: 'Member details' }).click();
    await emailWhole(page);
    assert.deepEqual(await axeViolations(page), [], 'the member panel on a tablet');
    await screenshot(page, 'tablet-member');
    await page.getByRole('button', { name: 'Back to conversation' }).click();
    await page.locator('.member').waitFor({ state: 'detached' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  test('at 1440 × 900 four columns: the member panel beside the thread, closed and opened again', async () => {
    const page = await signedInPage(browser, `${base}?view=open`, 'admin@localhost', DESKTOP, pageErrors);
    await row(page, latinConv).waitFor();
    await screenshot(page, 'desktop-inbox');
    await row(page, longConv).click();
    await page.locator('.thread-name', { hasText: 'Alexandria' }).waitFor();
    const withMember = (await box(page, '.thread')).width;
    assert.ok(withMember >= 560, `thread ${withMember} px wide`);
    assert.ok((await box(page, '#reply')).height >= 60);
    await emailWhole(page);
    assert.deepEqual(await axeViolations(page), [], 'the thread and member panel on a desktop');
    await screenshot(page, 'desktop-thread');
    const toggle = page.getByRole('button', { name: 'Member details' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await toggle.click();
    await page.locator('.member').waitFor({ state: 'detached' });
    assert.ok((await box(page, '.thread')).width >= withMember + 200, 'the thread takes the panel’s room');
    await toggle.click();
    await page.locator('.member').waitFor();
    await page.getByRole('button', { name: 'Team' }).click();
    await page.getByRole('cell', { name: 'admin@localhost' }).waitFor();
    await screenshot(page, 'desktop-team');
    await page.getByRole('button', { name: 'Sessions' }).click();
    await page.getByText('This browser').waitFor();
    await screenshot(page, 'desktop-sessions');
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  test('right-to-left names and text read right to left in the list, the member panel and search results', async () => {
    const page = await signedInPage(browser, `${base}?view=open`, 'admin@localhost', DESKTOP, pageErrors);
    const rtl = row(page, rtlConv);
    await rtl.waitFor();
    const at = `.rows [data-conversation="${rtlConv}"]`;
    const latin = `.rows [data-conversation="${latinConv}"]`;
    assert.equal(await direction(page, `${at} .row-name`), 'rtl', 'an Arabic name');
    assert.equal(await direction(page, `${at} .row-title`), 'rtl', 'an Arabic title');
    assert.equal(await direction(page, `${at} .row-preview`), 'rtl', 'a Hebrew preview');
    assert.equal(await direction(page, `${latin} .row-preview`), 'ltr', 'English stays left to right');
    await rtl.click();
    await page.locator('.member').waitFor();
    assert.equal(await direction(page, '.member-name'), 'rtl', 'the member panel');
    // A search whose snippet is Hebrew around a Latin word.
    await page.getByLabel('Search conversations').fill('Hilton');
    await page.getByRole('heading', { name: 'Search results' }).waitFor();
    await page.locator(`${at} .row-preview mark`).waitFor();
    assert.equal(await direction(page, `${at} .row-preview`), 'rtl', 'a search result');
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });
});

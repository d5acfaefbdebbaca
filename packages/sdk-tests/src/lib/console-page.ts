import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD } from '@concierge/tests/harness';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';

/** Debian's Chromium (scripts/ensure-chromium.sh), driven through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

/** True when this machine has no Chromium (the suite skips); CI must have it. */
export function chromiumMissing(): boolean {
  const missing = !existsSync(CHROMIUM);
  if (missing && process.env.CI !== undefined)
    throw new Error(`${CHROMIUM} is missing: CI must run scripts/ensure-chromium.sh before the tests.`);
  return missing;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/** The screen sizes the console is tested at (docs/console.md, "Phones, tablets, desktops"). */
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 1,
};
export const TABLET: BrowserContextOptions = { viewport: { width: 1100, height: 800 } };
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1440, height: 900 } };

/**
 * Where the tests put their screenshot of each screen. `CONSOLE_SCREENSHOTS=docs` writes them over the ones
 * docs/console.md links to (how they are refreshed); otherwise into a temp dir, so a test run leaves the tree as it
 * was (the screens show the time of the run, so every run would change them).
 */
export const SCREENSHOTS =
  process.env.CONSOLE_SCREENSHOTS === 'docs'
    ? fileURLToPath(new URL('../../../../docs/console-screenshots/', import.meta.url))
    : join(tmpdir(), 'concierge-console-screenshots/');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Every axe-core violation on the page, whatever its impact (evaluated over CDP, so the CSP does not stop it). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: any[] }> } }).axe;
    const { violations } = await axe.run(document);
    return violations.map(
      (v) => `${v.id} (${v.impact}): ${v.nodes.map((n: { target: string[] }) => n.target.join(' ')).join(', ')}`,
    );
  });
}

/** The violations axe-core rates serious or critical. */
export async function seriousViolations(page: Page): Promise<string[]> {
  return (await axeViolations(page)).filter((v) => / \((serious|critical)\): /.test(v));
}

/** The one-time link's token, as the banner or `POST /v1/agents` printed it (`…/console/setup#token=…`). */
export function linkToken(text: string): string {
  const token = /\/console\/setup#token=([^\s"]+)/.exec(text)?.[1];
  assert.ok(token !== undefined, `no sign-in link in:\n${text}`);
  return token;
}

/** A new browser context at `url`, signed in with the password form as a person would; errors go to `errors`. */
export async function signedInPage(
  browser: Browser,
  url: string,
  email: string,
  options: BrowserContextOptions,
  errors: string[],
): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.shell').waitFor();
  return page;
}

/** The element's box on screen (it must be rendered). */
export async function box(
  page: Page,
  selector: string,
): Promise<{ x: number; y: number; width: number; height: number }> {
  const b = await page.locator(selector).first().boundingBox();
  assert.ok(b !== null, `${selector} is not on screen`);
  return b;
}

export const row = (page: Page, conversationID: string) =>
  page.locator(`.rows [data-conversation="${conversationID}"]`);

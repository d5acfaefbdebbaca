import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

/** The console's build (`npm run build -w @concierge/console`, which `npm test` runs before the suites). */
const CONSOLE_WEB = fileURLToPath(new URL('dist/web/', import.meta.resolve('@concierge/console/package.json')));

const LIMIT = 150 * 1024;
/** Every script of the build, loaded at once or later: the console's whole JavaScript (docs/benchmarks.md). */
const JS_LIMIT = 100 * 1024;

function brotli(bytes: Buffer): number {
  return brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}

test('the console’s first load (page, scripts, styles it references) stays under 150 KiB brotli', () => {
  const page = readFileSync(`${CONSOLE_WEB}index.html`);
  // Everything the page pulls in before it can draw: its scripts, module preloads and stylesheets.
  const refs = [...page.toString().matchAll(/(?:src|href)="\/console\/([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.some((r) => r.endsWith('.js')) && refs.some((r) => r.endsWith('.css')), refs.join(', '));
  let total = brotli(page);
  for (const ref of refs) total += brotli(readFileSync(`${CONSOLE_WEB}${ref}`));
  console.log(`# console first load: ${refs.length + 1} files, ${total} bytes brotli (limit ${LIMIT})`);
  assert.ok(total < LIMIT, `${total} bytes brotli is over the ${LIMIT}-byte budget`);
});

test('the console’s JavaScript, every script of the build, stays under 100 KiB brotli in total', () => {
  const scripts = readdirSync(CONSOLE_WEB, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  assert.ok(scripts.length > 0, 'the build has scripts');
  const total = scripts.reduce((n, f) => n + brotli(readFileSync(`${CONSOLE_WEB}${f}`)), 0);
  console.log(`# console JavaScript: ${scripts.length} files, ${total} bytes brotli (limit ${JS_LIMIT})`);
  assert.ok(total < JS_LIMIT, `${total} bytes brotli of JavaScript is over the ${JS_LIMIT}-byte budget`);
});

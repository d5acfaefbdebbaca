import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { STORES, withServer, type TestServer } from '@concierge/tests/harness';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../../../examples/dist/', import.meta.url));

/** The webhook receiver example registers an http endpoint on loopback. */
const WEBHOOK_FLAGS = ['--webhooks-allow-http', '--webhooks-allow-private'];

/** Every example in examples/ runs to completion against a real server (they are type-checked by `tsc -b`). */
describe('the examples run against a real server', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    // The receiver example registers a loopback http URL, which only these flags allow.
    ({ server, close } = await withServer(STORES[0]!, { args: ['--rate-limit', '0', ...WEBHOOK_FLAGS] }));
  });
  after(async () => {
    await close();
  });

  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.js') && f !== 'env.js');
  test('there are examples for refresh, paging, streaming, idempotency, errors and webhooks', () => {
    assert.deepEqual(files.sort(), [
      'error-handling.js',
      'gapless-streaming.js',
      'idempotent-send.js',
      'paging.js',
      'token-refresh.js',
      'webhook-receiver.js',
    ]);
  });
  for (const file of files) {
    test(file, async () => {
      const { stdout } = await run(process.execPath, [join(EXAMPLES, file)], {
        env: { ...process.env, CONCIERGE_URL: server.url, CONCIERGE_API_KEY: server.org.apiKey },
        timeout: 30_000,
      });
      assert.notEqual(stdout.trim(), '');
    });
  }
});

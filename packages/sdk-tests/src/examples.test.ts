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

/** Every example in examples/ runs to completion against a real server (they are type-checked by `tsc -b`). */
describe('the examples run against a real server', () => {
  let server: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    ({ server, close } = await withServer(STORES[0]!, { args: ['--rate-limit', '0'] }));
  });
  after(async () => {
    await close();
  });

  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.js') && f !== 'env.js');
  test('there are examples for refresh, paging, streaming, idempotency and errors', () => {
    assert.deepEqual(files.sort(), [
      'error-handling.js',
      'gapless-streaming.js',
      'idempotent-send.js',
      'paging.js',
      'token-refresh.js',
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

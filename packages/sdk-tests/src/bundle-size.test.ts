import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, constants } from 'node:zlib';
import { memberBundle } from './lib/bundle.js';

const LIMIT = 8 * 1024;

test('the member client bundle, minified and brotli-compressed, stays under 8 KiB', async () => {
  const { code, inputs } = await memberBundle();
  const size = brotliCompressSync(Buffer.from(code), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`# member client: ${code.length} bytes minified, ${size} bytes brotli (limit ${LIMIT})`);
  assert.ok(size < LIMIT, `${size} bytes brotli is over the ${LIMIT}-byte budget`);
  // Nothing of the server client is in it, and of @concierge/protocol only the status → code table: the SDK takes
  // the wire types with `import type`, which costs no byte.
  assert.ok(!inputs.some((i) => i.includes('server-client')), inputs.join('\n'));
  const protocol = inputs.filter((i) => i.includes('packages/protocol/'));
  assert.deepEqual(protocol, ['packages/protocol/dist/error-codes.js']);
});

test('error names survive minification (they are literals, not class names)', async () => {
  const { code } = await memberBundle();
  const sdk = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as typeof import('@concierge/sdk');
  const error = sdk.APIError.from(404, { error: { code: 'NOT_FOUND', message: 'x' } }, new Headers());
  assert.ok(error instanceof sdk.NotFoundError);
  assert.equal(error.name, 'NotFoundError');
  assert.equal(new sdk.RefreshError('x').name, 'RefreshError');
});

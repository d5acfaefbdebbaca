import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as esm from '@concierge/sdk';
import * as esmAgent from '@concierge/sdk/agent';
import * as esmServer from '@concierge/sdk/server';

const require = createRequire(import.meta.url);

test('both entry points load by name as ESM and as CommonJS', () => {
  const cjs = require('@concierge/sdk') as typeof esm;
  const cjsServer = require('@concierge/sdk/server') as typeof esmServer;
  for (const mod of [esm, cjs]) {
    assert.equal(typeof mod.Concierge, 'function');
    assert.equal(typeof mod.APIError, 'function');
    assert.equal((mod as Record<string, unknown>).ConciergeServer, undefined, 'the member entry has no server client');
  }
  for (const mod of [esmServer, cjsServer]) {
    assert.equal(typeof mod.ConciergeServer, 'function');
    assert.equal(typeof mod.Concierge, 'function');
  }
  // Within one format the two entries share their error classes, so `instanceof` works across them.
  assert.equal(esm.APIError, esmServer.APIError);
  assert.equal(cjs.APIError, cjsServer.APIError);
  assert.match(require.resolve('@concierge/sdk'), /[/\\]cjs[/\\]index\.js$/);
});

test('the agent entry loads as ESM and as CommonJS, shares the errors and holds no server client', () => {
  const cjsAgent = require('@concierge/sdk/agent') as typeof esmAgent;
  for (const mod of [esmAgent, cjsAgent]) {
    assert.equal(typeof mod.ConciergeAgent, 'function');
    assert.equal((mod as Record<string, unknown>).ConciergeServer, undefined);
  }
  assert.equal(esmAgent.APIError, esm.APIError);
  assert.equal(cjsAgent.RefreshError, (require('@concierge/sdk') as typeof esm).RefreshError);
});

test('errors: one class per status, unknown codes and non-envelopes fall back by status', () => {
  const names = [
    'ConciergeError',
    'APIError',
    'UnauthorizedError',
    'ForbiddenError',
    'NotFoundError',
    'ConflictError',
    'ValidationError',
    'RateLimitError',
    'ServerError',
    'NetworkError',
    'TimeoutError',
    'AbortError',
    'RefreshError',
  ] as const;
  for (const name of names) {
    const Class = esm[name] as unknown as new (...args: unknown[]) => Error;
    assert.ok(Class.prototype instanceof Error || name === 'ConciergeError');
  }
  const e = esm.APIError.from(
    418,
    { error: { code: 'TEAPOT', message: 'short and stout' } },
    new Headers({ 'x-request-id': 'r1' }),
  );
  assert.equal(e.constructor, esm.APIError, 'a status without a class of its own is a plain APIError');
  assert.equal(e.code, 'TEAPOT');
  assert.equal(e.requestID, 'r1');
  const unknownCode = esm.APIError.from(404, { error: { code: 'SOMETHING_NEW', message: 'x' } }, new Headers());
  assert.ok(unknownCode instanceof esm.NotFoundError, 'an unknown code falls back to its status class');
  const notEnvelope = esm.APIError.from(502, '<html>bad gateway</html>', new Headers());
  assert.ok(notEnvelope instanceof esm.ServerError);
  assert.equal(notEnvelope.code, 'INTERNAL');
  assert.equal(notEnvelope.name, 'ServerError');
});

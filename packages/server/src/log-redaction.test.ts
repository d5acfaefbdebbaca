import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redactDeep } from './log-redaction.js';

test('credentials are redacted at every depth, keys matched without regard to case', () => {
  const error = Object.assign(new Error('boom'), { config: { headers: { Authorization: 'Bearer ck_live_x' } } });
  const out = redactDeep({
    accessToken: 'top',
    body: { accessToken: 'nested', items: [{ apiKey: 'in-array' }, { Ticket: 'tkt_x' }] },
    err: error,
    fine: { path: '/v1/conversations', status: 200 },
  });
  const text = JSON.stringify(out);
  for (const secret of ['top', 'nested', 'in-array', 'tkt_x', 'ck_live_x']) assert.ok(!text.includes(secret), secret);
  assert.equal((out.body as { accessToken: string }).accessToken, REDACTED);
  assert.deepEqual(out.fine, { path: '/v1/conversations', status: 200 });
  // An error keeps what a reader needs.
  assert.equal((out.err as { message: string }).message, 'boom');
  assert.match((out.err as { stack: string }).stack, /boom/);
});

test('cycles and very deep values end the walk instead of the process', () => {
  const a: Record<string, unknown> = { name: 'a' };
  a.self = a;
  let deep: Record<string, unknown> = { token: 'deepest' };
  for (let i = 0; i < 10_000; i++) deep = { next: deep };
  const out = redactDeep({ a, deep });
  const text = JSON.stringify(out);
  assert.ok(text.includes('[Truncated]'));
  assert.ok(!text.includes('deepest'));
});

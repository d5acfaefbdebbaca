import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OPERATIONS, refused, type Caller, type ErrorResponse, type Operation } from '@concierge/protocol/contract';
import { ERROR_CODES } from '@concierge/protocol';
import { Api, errorCode, firstAdmin, newAgent, STORES, withServer } from './harness/index.js';

/**
 * Who may call each route, walked from the operation table itself: every route refuses every credential kind its
 * entry does not allow, on the real server, with the refusal its entry declares (and documents). The request is
 * the least a route could get (unknown ids, an empty body), since the caller rule comes before anything else.
 */
for (const store of STORES) {
  describe(`the operation table's caller rules [${store.name}]`, () => {
    let api: Api;
    let close: () => Promise<void>;
    let credentials: Record<Caller, string>;

    before(async () => {
      let server;
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      const key = server.org.apiKey;
      const admin = await firstAdmin(api, server);
      const agent = await newAgent(api, key, 'plain@club.example');
      credentials = { member: await api.memberToken(key, 'table-walker'), agent: agent.token, admin: admin.token, key };
    });
    after(() => close());

    test('every route refuses each credential kind it does not allow, with its declared code', async () => {
      const operations: Operation[] = Object.values(OPERATIONS);
      let checked = 0;
      for (const o of operations)
        for (const caller of refused(o)) {
          const path = o.path.replace(/\{\w+\}/g, 'unknown_1');
          const write = o.method !== 'GET' && o.method !== 'DELETE';
          const r = await api.call(o.method, path, { token: credentials[caller], ...(write && { body: {} }) });
          const what = `${o.method} ${o.path} as ${caller}: ${r.status} ${r.text}`;
          const status = ERROR_CODES[o.refusal].status;
          assert.equal(r.status, status, what);
          assert.equal(errorCode(r), o.refusal, what);
          const declared = o.response[status] as ErrorResponse | undefined;
          assert.ok(
            declared?.description.includes(`\`${o.refusal}\``),
            `${o.operationId} does not document ${o.refusal}`,
          );
          checked++;
        }
      // Members, webhooks, agents, the inbox and the exchange: well over a route per credential kind.
      assert.ok(checked >= 50, `only ${checked} refusals checked`);
    });

    test('every credential kind is refused somewhere, and every operation id is its key in the table', () => {
      const operations = Object.entries(OPERATIONS) as [string, Operation][];
      for (const [key, o] of operations) assert.equal(o.operationId, key);
      const kinds = new Set(operations.flatMap(([, o]) => refused(o)));
      assert.deepEqual([...kinds].sort(), ['admin', 'agent', 'key', 'member']);
    });
  });
}

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { acrossStores, Api, firstAdmin, type StoreTarget, type TestServer, withServer } from './harness/index.js';

/**
 * The API fuzzed from its own contract: schemathesis (PyPI) reads the served OpenAPI document and sends what it
 * generates from it to the real server, on every store. Stream routes are left out (a valid request never ends).
 *
 * - refused requests (schemathesis' negative mode: data that breaks the declared schema) are all refused with a
 *   declared 4xx and write nothing: every table has as many rows after the run as before;
 * - valid requests (positive mode) never get a 5xx, and every answer has a declared status, content type and body.
 *
 * Every answer is checked against the schema the document declares for its status (`response_schema_conformance`,
 * with objects closed: a key the schema does not declare fails too). The Org-API-Key reaches every route; a member
 * token then runs both kinds on the member routes, and an admin agent's token the routes only agents reach (and the
 * inbox as an agent sees it). The number of
 * examples is bounded and the seed fixed, so the run is the same every time; three schemathesis runs per store.
 * scripts/ensure-schemathesis.sh installs the pinned version into a cache on first use; without Python the suite is
 * skipped, except in CI where that is a failure.
 */

const ROOT = new URL('../../../', import.meta.url).pathname;
const SEED = '20261129';
const EXAMPLES = '4';

function installSchemathesis(): string | null {
  const r = spawnSync('sh', [join(ROOT, 'scripts/ensure-schemathesis.sh')], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout.trim().split('\n').pop()!;
  const why = `schemathesis could not be installed:\n${r.stderr}`;
  if (process.env.CI !== undefined) throw new Error(why);
  console.log(`# ${why.replace(/\n/g, '\n# ')}`);
  return null;
}

const BIN = installSchemathesis();

/** Rows per table: the proof that refused requests wrote nothing, whatever table a write would touch. */
async function rowCounts(store: StoreTarget, databaseURL: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (store.name === 'sqlite') {
    const db = new Database(databaseURL.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables)
        counts[name] = (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n;
    } finally {
      db.close();
    }
    return counts;
  }
  const client = new pg.Client({ connectionString: databaseURL });
  await client.connect();
  try {
    const tables = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    for (const { tablename } of tables.rows)
      counts[tablename] = Number((await client.query(`SELECT count(*) AS n FROM "${tablename}"`)).rows[0].n);
  } finally {
    await client.end();
  }
  return counts;
}

interface Run {
  mode: 'positive' | 'negative' | 'all';
  token: string;
  /** Extra filters, e.g. leaving out the server-only routes for a member token. */
  filters?: string[];
  /** Schemathesis' phases; the stateful one (chains of calls through the document's links) is the slowest. */
  phases: string;
}

/** Runs schemathesis; resolves with its exit code and the tail of its report. */
function schemathesis(bin: string, server: TestServer, run: Run): Promise<{ code: number; report: string }> {
  const checks =
    run.mode !== 'positive'
      ? 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection'
      : 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance';
  const cwd = mkdtempSync(join(tmpdir(), 'concierge-fuzz-'));
  // Schemathesis takes a route's headers and query as a closed set, so its negative cases include a valid request
  // plus one unknown header, which HTTP allows and the server rightly ignores. Harmless while a fuzzer could not
  // name a real resource; since GET /v1/inbox lists the org's conversations, its ids (reused from answers) would
  // make such a request a real write. The negative run therefore does not reuse values from answers.
  if (run.mode === 'negative')
    writeFileSync(
      join(cwd, 'schemathesis.toml'),
      '[phases.coverage.extra-data-sources]\nresponses = false\n\n[phases.fuzzing.extra-data-sources]\nresponses = false\n',
    );
  const args = [
    'run',
    `${server.url}/openapi.json`,
    '--mode',
    run.mode,
    '--checks',
    checks,
    '--phases',
    run.phases,
    '--max-examples',
    EXAMPLES,
    '--seed',
    SEED,
    '--workers',
    '1',
    '--exclude-path-regex',
    '/stream$',
    '--generation-database',
    'none',
    // Over-long UTF-8 values, percent-encoded, can pass the 16 KiB limit on a request head: the answer, 431
    // HEADERS_TOO_LARGE, is declared, but schemathesis does not count 431 as refusing bad data. ASCII keeps every
    // generated request under the limit.
    '--generation-codec',
    'ascii',
    '--generation-with-security-parameters',
    'false',
    '--header',
    `Authorization: Bearer ${run.token}`,
    '--request-timeout',
    '20',
    '--no-color',
    ...(run.filters ?? []),
  ];
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      rmSync(cwd, { recursive: true, force: true });
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, report: failures(`${stdout}\n${stderr}`) });
    });
  });
}

/** The failures section of a report, each line cut short (a reproducing curl line can be megabytes long). */
function failures(output: string): string {
  const start = output.indexOf('FAILURES');
  const section = start === -1 ? output.slice(-4000) : output.slice(start);
  return section
    .split('\n')
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
    .join('\n')
    .slice(0, 12_000);
}

acrossStores((store) => {
  describe(`contract fuzz (schemathesis) [${store.name}]`, { skip: BIN === null }, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let member: string;
    let agent: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      const api = new Api(server.url);
      member = await api.memberToken(server.org.apiKey, 'fuzz-member');
      agent = (await firstAdmin(api, server)).token;
      const id = await api.openConversation(member);
      assert.equal((await api.send(member, id, 'something to page through')).status, 200);
    });
    after(() => close());

    const memberRoutes = ['--exclude-tag', 'Members', '--exclude-tag', 'Auth'];
    // What an agent reads and writes as itself; not the calls that would end its own session (sign-out, switch,
    // revoking sessions, disabling itself), after which every answer would be the same 401.
    const agentRoutes = [
      'getCurrentAgent',
      'listAgents',
      'createAgent',
      'listAgentSessions',
      'listInbox',
      'inboxCounts',
      'assignConversation',
      'unassignConversation',
      'closeConversation',
      'reopenConversation',
      'addNote',
      'listNotes',
    ].flatMap((id) => ['--include-operation-id', id]);

    test('requests that break the schema are refused with a declared 4xx and write nothing', async () => {
      const before = await rowCounts(store, server.databaseURL);
      assert.ok(
        (before.messages ?? 0) > 0,
        `the count sees the message written in before(): ${JSON.stringify(before)}`,
      );
      const { code, report } = await schemathesis(BIN!, server, {
        mode: 'negative',
        token: server.org.apiKey,
        phases: 'coverage,fuzzing',
      });
      assert.equal(code, 0, report);
      assert.deepEqual(await rowCounts(store, server.databaseURL), before);
    });

    test('valid requests never get a 5xx, and every answer is as declared', async () => {
      for (const run of [
        { mode: 'positive', token: server.org.apiKey, phases: 'coverage,fuzzing,stateful' },
        // The member token on the member routes, both kinds of request (the negative ones are checked refused).
        { mode: 'all', token: member, filters: memberRoutes, phases: 'fuzzing' },
        { mode: 'positive', token: agent, filters: agentRoutes, phases: 'coverage,fuzzing' },
      ] satisfies Run[]) {
        const { code, report } = await schemathesis(BIN!, server, run);
        assert.equal(code, 0, report);
      }
    });
  });
});

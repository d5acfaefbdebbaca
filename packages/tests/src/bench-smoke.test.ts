import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The benchmarks (bench/) are not tests, but their scripts must keep working as the server changes: this runs
 * every one once at a tiny size (`--smoke`) and checks that each ran to the end and produced figures. It never
 * looks at what the figures are: timings on a shared machine are not a pass/fail signal.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CATALOGUE = [
  'send',
  'list',
  'fanout',
  'resume',
  'cross-instance',
  'scale-out',
  'search',
  'send-postgres',
  'webhooks',
] as const;
/** Only these may be skipped, and only with a stated reason: they need a PostgreSQL server. */
const MAY_SKIP = new Set<string>(['cross-instance', 'scale-out', 'send-postgres']);

interface Row {
  metric: string;
  ours: unknown;
  reference?: unknown;
}
interface Result {
  rows?: Row[];
  skipped?: string;
  error?: string;
}

test('every benchmark runs once at smoke size and reports figures', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'concierge-bench-smoke-'));
  try {
    const json = join(dir, 'results.json');
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bench/run.mjs'), '--smoke', '--json', json],
        { cwd: ROOT, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : (error.code as number | null), output: `${stdout}\n${stderr}` }),
      );
    });
    assert.equal(code, 0, `bench/run.mjs --smoke failed:\n${output}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { results: Record<string, Result> };
    for (const name of CATALOGUE) {
      const result = report.results[name];
      assert.ok(result !== undefined, `${name} did not run`);
      assert.equal(result.error, undefined, `${name} failed: ${result.error}`);
      if (result.skipped !== undefined) {
        assert.ok(MAY_SKIP.has(name), `${name} was skipped: ${result.skipped}`);
        assert.ok(result.skipped.length > 0, `${name} was skipped without a reason`);
        continue;
      }
      assert.ok(result.rows !== undefined && result.rows.length > 0, `${name} reported no figures`);
      const numeric = result.rows.filter((r) => typeof r.ours === 'number');
      assert.ok(numeric.length > 0, `${name} reported no numeric figure`);
      for (const row of numeric)
        assert.ok(Number.isFinite(row.ours), `${name}: "${row.metric}" is not a number: ${String(row.ours)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

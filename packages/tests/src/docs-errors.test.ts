import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES } from '@concierge/protocol';

/**
 * docs/errors.md is the integrator's copy of the error table. This keeps it honest: every code the server can send
 * is listed there with the status and retry flag the server really uses, and the page lists no code the server
 * does not have. (Compiled to packages/tests/dist, hence three levels up to the repository root.)
 */
const DOC = new URL('../../../docs/errors.md', import.meta.url);

interface Row {
  code: string;
  status: number;
  retryable: boolean;
  line: number;
}

/** The rows of the first Markdown table under the `## Codes` heading: `| \`CODE\` | 400 | no | when |`. */
function documentedCodes(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^##\s+Codes\s*$/.test(l));
  assert.notEqual(start, -1, 'docs/errors.md has no "## Codes" section');
  const rows: Row[] = [];
  let inTable = false;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,2}\s/.test(line)) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] === 'code' || /^-+$/.test(cells[0] ?? '')) continue;
    const code = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '');
    assert.ok(code !== null, `docs/errors.md line ${i + 1}: first cell is not a \`CODE\`: ${line}`);
    assert.match(cells[1] ?? '', /^\d{3}$/, `docs/errors.md line ${i + 1}: status is not a number`);
    assert.match(cells[2] ?? '', /^(yes|no)$/, `docs/errors.md line ${i + 1}: retryable is not yes/no`);
    assert.ok((cells[3] ?? '').length > 0, `docs/errors.md line ${i + 1}: ${code[1]} has no "when"`);
    rows.push({ code: code[1]!, status: Number(cells[1]), retryable: cells[2] === 'yes', line: i + 1 });
  }
  return rows;
}

test('docs/errors.md lists every error code with its status and retry flag, and no other code', () => {
  const rows = documentedCodes(readFileSync(DOC, 'utf8'));
  assert.ok(rows.length > 0, 'the Codes table of docs/errors.md is empty');

  const seen = new Map<string, Row>();
  for (const row of rows) {
    const earlier = seen.get(row.code);
    assert.equal(earlier, undefined, `${row.code} is listed twice (lines ${earlier?.line} and ${row.line})`);
    seen.set(row.code, row);
  }

  const problems: string[] = [];
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const row = seen.get(code);
    if (row === undefined) problems.push(`${code} (${spec.status}) is missing`);
    else {
      if (row.status !== spec.status)
        problems.push(`${code} is listed as ${row.status}, the server sends ${spec.status}`);
      if (row.retryable !== spec.retryable)
        problems.push(`${code} is listed as retryable=${row.retryable}, the table says ${spec.retryable}`);
    }
  }
  for (const row of rows)
    if (!Object.prototype.hasOwnProperty.call(ERROR_CODES, row.code))
      problems.push(`${row.code} (line ${row.line}) is documented but is not in ERROR_CODES`);

  assert.deepEqual(problems, [], `docs/errors.md is out of step with packages/protocol/src/error-codes.ts`);
});

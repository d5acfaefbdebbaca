import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGenerated, packageSources, readSource, sourceFiles } from './source-files.js';

/** The house rule: one concept per file, and no hand-written source file over this many lines. */
const MAX_LINES = 600;

test(`no source file is over ${MAX_LINES} lines`, () => {
  const files = sourceFiles(
    [...packageSources(), 'sdks/kotlin/src', 'scripts', 'bench'],
    ['.ts', '.tsx', '.kt', '.mjs'],
  );
  assert.ok(files.length > 100, `only ${files.length} source files found: is the root right?`);
  const long: string[] = [];
  for (const file of files) {
    const text = readSource(file);
    if (isGenerated(text)) continue;
    const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
    if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
  }
  assert.deepEqual(long, [], `split these by concept:\n${long.join('\n')}`);
});

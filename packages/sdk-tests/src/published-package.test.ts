import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * `@concierge/sdk` as a consumer gets it from the registry: `npm pack` of the SDK and of each workspace package it
 * depends on, unpacked into a fresh project's node_modules, with only the dependencies the SDK's package.json
 * declares. The SDK's declarations import their wire types from `@concierge/protocol`, so a consumer compiles only
 * if that package is declared and published with its declarations, for `import` and for `require`.
 */
let project: string;

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'concierge-consumer-'));
  const modules = join(project, 'node_modules');
  const packs = join(project, 'packs');
  mkdirSync(packs);
  const sdk = JSON.parse(readFileSync(join(ROOT, 'packages/sdk/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const ours = ['sdk', ...Object.keys(sdk.dependencies).filter((d) => d.startsWith('@concierge/'))];
  const workspaces = ours.map((name) => `packages/${name.replace('@concierge/', '')}`);
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', packs, ...workspaces.flatMap((w) => ['-w', w])],
    { cwd: ROOT },
  );
  for (const { name, filename } of JSON.parse(stdout) as { name: string; filename: string }[]) {
    const into = join(modules, name);
    mkdirSync(into, { recursive: true });
    await run('tar', ['-xzf', join(packs, filename), '-C', into, '--strip-components=1']);
  }
  // Third-party dependencies, of the SDK and of the packages of ours it brings (zod, whose types the wire types are
  // inferred with), as installed for the workspace.
  const thirdParty = new Set<string>();
  for (const workspace of workspaces) {
    const { dependencies = {} } = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const d of Object.keys(dependencies)) if (!d.startsWith('@concierge/')) thirdParty.add(d);
  }
  for (const name of thirdParty) {
    mkdirSync(join(modules, name, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        types: [],
        strict: true,
        // Check the SDK's own declarations too: an import in them that does not resolve is an error here.
        skipLibCheck: false,
        skipDefaultLibCheck: true,
        outDir: 'out',
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  // The same program as ESM and as CommonJS. `@ts-expect-error` lines fail the compile if a type came out as `any`
  // (an unresolved import in a declaration file silently does that).
  const program = (from: string) => `${from}

const message: Message = { id: 'msg_1', type: 'member', authorID: 'u1', body: null, createdAt: '2026-01-01T00:00:00.000Z' };
// @ts-expect-error createdAt is a string
const wrong: Message['createdAt'] = 1;
function body(event: StreamEvent): string | null {
  // @ts-expect-error a typing event has no message
  if (event.type === 'typing') return event.data.message.body;
  return event.type === 'message' ? event.data.message.body : null;
}
void wrong;
const fallback = APIError.from(422, '<html>', new Headers()).code;
console.log(JSON.stringify([typeof Concierge, typeof ConciergeServer, message.id, fallback, typeof body]));
`;
  writeFileSync(
    join(project, 'esm.mts'),
    program(`import { APIError, Concierge, type Message, type StreamEvent } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';`),
  );
  writeFileSync(
    join(project, 'cjs.cts'),
    program(`import { APIError, Concierge, type Message, type StreamEvent } from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';`),
  );
});

after(() => {
  rmSync(project, { recursive: true, force: true });
});

test('the packed SDK type-checks in a fresh project, as ESM and as CommonJS, with the protocol types resolved', async () => {
  await run(process.execPath, [TSC, '-p', project]).catch((error: Error & { stdout?: string }) => {
    assert.fail(`tsc failed:\n${error.stdout ?? error.message}`);
  });
});

test('the packed SDK runs in a fresh project, as ESM and as CommonJS', async () => {
  // Runs after the type-check above has written out/ (node:test runs a file's top-level tests in order).
  for (const file of ['out/esm.mjs', 'out/cjs.cjs']) {
    const { stdout } = await run(process.execPath, [join(project, file)], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), ['function', 'function', 'msg_1', 'UNPROCESSABLE_ENTITY', 'function'], file);
  }
});

import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The member client as an app would ship it: the built `@concierge/sdk` entry (dist/index.js) and what it
 * imports, bundled for browsers and minified by esbuild. `platform: 'browser'` makes any Node built-in a build
 * error, so a Node-only API slipping into the member client fails here. `inputs` are the files that put bytes in
 * the bundle (a module read but shaken out entirely is not one).
 */
export async function memberBundle(): Promise<{ code: string; inputs: string[] }> {
  const entry = fileURLToPath(import.meta.resolve('@concierge/sdk'));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  const inputs = Object.entries(output.inputs)
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([path]) => path);
  return { code: result.outputFiles[0]!.text, inputs };
}

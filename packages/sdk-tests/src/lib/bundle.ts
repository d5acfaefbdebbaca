import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The member client as an app would ship it: the built `@concierge/sdk` entry (dist/index.js) and what it
 * imports, bundled for browsers and minified by esbuild. `platform: 'browser'` makes any Node built-in a build
 * error, so a Node-only API slipping into the member client fails here.
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
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

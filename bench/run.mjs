#!/usr/bin/env node
// `npm run bench [-- <name>…] [--rounds N] [--profile] [--smoke] [--json FILE] [--no-doc]`
//
// Runs each named benchmark (all when none is named) beside its reference, alternating them round by round,
// prints the medians and ratios, and rewrites that benchmark's section of docs/benchmarks.md. `--smoke` runs one
// tiny round of each (seconds: the CI check that the scripts still work) and leaves the docs alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROFILE_DIR, ROOT } from './lib/procs.mjs';
import { machine, printResult, section, writeDoc } from './lib/report.mjs';

const CATALOGUE = [
  'send',
  'send-worker-writer',
  'list',
  'fanout',
  'resume',
  'cross-instance',
  'scale-out',
  'send-postgres',
  'search',
  'webhooks',
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    `usage: npm run bench -- [${CATALOGUE.join('|')}]… [--rounds N] [--profile] [--smoke] [--json FILE] [--no-doc]`,
  );
  process.exit(0);
}
const unknown = positionals.filter((p) => !CATALOGUE.includes(p));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (have: ${CATALOGUE.join(', ')})`);
  process.exit(2);
}
const names = positionals.length > 0 ? CATALOGUE.filter((n) => positionals.includes(n)) : CATALOGUE;
const rounds = values.rounds !== undefined ? Number(values.rounds) : values.smoke ? 1 : 3;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('--rounds must be a whole number ≥ 1');
  process.exit(2);
}
if (values.profile) mkdirSync(PROFILE_DIR, { recursive: true });

const args = process.argv.slice(2).join(' ');
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args ? ` -- ${args}` : ''}`
    : `node bench/run.mjs ${args}`.trim();
const m = machine();
console.log(`# ${m.cores} cores (${m.cpu}), Node ${m.node}; ${rounds} round(s)${values.smoke ? ', smoke size' : ''}`);

const results = {};
const sections = new Map();
let failed = 0;
for (const name of names) {
  const mod = await import(`./benchmarks/${name}.mjs`);
  console.log(`\n## ${name}: ${mod.description}`);
  const started = Date.now();
  let result;
  try {
    result = await mod.run({ rounds, smoke: values.smoke, profile: values.profile, log: (s) => console.log(s) });
  } catch (error) {
    failed++;
    console.error(`${name} failed: ${error instanceof Error ? error.stack : error}`);
    results[name] = { error: String(error instanceof Error ? error.message : error) };
    continue;
  }
  result.seconds = (Date.now() - started) / 1000;
  results[name] = result;
  printResult(name, result);
  sections.set(
    name,
    section(name, result, {
      command,
      machine: m,
      when: new Date().toISOString().slice(0, 10),
      description: mod.description,
    }),
  );
}

if (values.json !== undefined)
  writeFileSync(values.json, JSON.stringify({ machine: m, command, rounds, smoke: values.smoke, results }, null, 2));
if (!values.smoke && !values['no-doc'] && sections.size > 0) {
  await writeDoc(join(ROOT, 'docs/benchmarks.md'), sections, CATALOGUE);
  console.log('\nwrote docs/benchmarks.md');
}
process.exit(failed === 0 ? 0 : 1);

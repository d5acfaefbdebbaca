#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `npm run bench -- <name> --profile`, written to bench/results/profiles/):
// self time by function and by package, so a profile can be read and quoted without DevTools.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

// Self time per node = its share of samples × the sampling interval.
const byID = new Map(profile.nodes.map((n) => [n.id, n]));
const selfSamples = new Map();
for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
const interval = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length); // ms per sample
const totalMs = (profile.endTime - profile.startTime) / 1000;

/** Where a function lives: a package of ours, a dependency, node's own code, or V8/native. */
function area(url) {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node:internal';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep !== null) return dep[1];
  const ours = /\/(packages\/[^/]+|bench)\//.exec(url);
  if (ours !== null) return ours[1];
  return url;
}

const fns = new Map();
const areas = new Map();
for (const [id, samples] of selfSamples) {
  const n = byID.get(id);
  const cf = n.callFrame;
  const ms = samples * interval;
  const where =
    cf.url === ''
      ? ''
      : `${cf.url.replace(/^file:\/\/.*?\/(node_modules|packages|bench)\//, '$1/')}:${cf.lineNumber + 1}`;
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  fns.set(key, (fns.get(key) ?? 0) + ms);
  const a = cf.functionName === '(idle)' ? '(idle)' : area(cf.url);
  areas.set(a, (areas.get(a) ?? 0) + ms);
}

const busy = totalMs - (areas.get('(idle)') ?? 0);
const pct = (ms) => `${((ms / busy) * 100).toFixed(1)}%`;
console.log(`profile ${positionals[0]}\n${totalMs.toFixed(0)} ms recorded, ${busy.toFixed(0)} ms busy (not idle)\n`);
console.log('self time by area (share of busy time):');
for (const [a, ms] of [...areas]
  .filter(([a]) => a !== '(idle)')
  .sort((x, y) => y[1] - x[1])
  .slice(0, top))
  console.log(`  ${pct(ms).padStart(6)}  ${ms.toFixed(0).padStart(7)} ms  ${a}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [k, ms] of [...fns]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((x, y) => y[1] - x[1])
  .slice(0, top))
  console.log(`  ${pct(ms).padStart(6)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`);

// Turns benchmark results into a console table and into docs/benchmarks.md. Each benchmark owns one section of
// that file between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`; a run rewrites only the sections of
// the benchmarks it ran, so hand-written analysis elsewhere in the file (profiles, what was tried) is kept.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fmt } from './stats.mjs';

/** The commit measured (and whether the work tree differed from it): figures move with the code. */
function revision() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'packages'], {
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? head : `${head} + uncommitted changes in packages/`;
  } catch {
    return 'unknown';
  }
}

export function machine() {
  const c = cpus();
  return {
    revision: revision(),
    cores: c.length,
    cpu: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const verdict = (row) =>
  row.met === undefined ? '' : row.met ? 'met' : `**missed**${row.missedBy ? ` (${row.missedBy})` : ''}`;
const ratio = (x) => (x === undefined ? '—' : Number.isFinite(x) ? `${fmt(x)}×` : 'n/a');

function table(result) {
  const hasCase = result.rows.some((r) => r.case !== undefined);
  const head = [...(hasCase ? ['case'] : []), 'metric', 'ours', 'reference', 'ours/reference', 'target', 'verdict'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of result.rows) {
    const cells = [
      ...(hasCase ? [r.case ?? ''] : []),
      r.metric,
      fmt(r.ours),
      fmt(r.reference),
      ratio(r.ratio),
      r.target ?? '',
      verdict(r),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function section(name, result, { command, machine: m, when, description }) {
  const lines = [`<!-- bench:${name}:begin -->`, `### \`${name}\``, '', description, ''];
  if (result.skipped !== undefined) {
    lines.push(`**Not measured:** ${result.skipped}`, '');
  } else {
    lines.push(
      `Run ${when} at \`${m.revision}\` on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}: \`${command}\`. ` +
        `Medians of ${result.config?.rounds ?? '?'} rounds, ours and the reference alternating.`,
      '',
      table(result),
      '',
    );
  }
  for (const n of result.notes ?? []) lines.push(`- ${n}`);
  lines.push(`<!-- bench:${name}:end -->`);
  return lines.join('\n');
}

export function printResult(name, result) {
  if (result.skipped !== undefined) {
    console.log(`\n${name}: not measured: ${result.skipped}`);
    return;
  }
  console.log(`\n${name}`);
  console.log(table(result));
  for (const n of result.notes ?? []) console.log(`- ${n}`);
}

const SKELETON = `# Benchmarks

How close each hot path of Concierge comes to the practical ceiling of the machine it runs on. Every figure is a
ratio against a reference server in \`bench/reference/\` that does the same durable work with nothing else, measured
in the same run, alternating with ours, median of the rounds. Run all with \`npm run bench\`, one with
\`npm run bench -- <name>\` (options: \`--rounds N\`, \`--profile\` for \`--cpu-prof\` into \`bench/results/profiles/\`).
The sections between the \`bench:\` markers are rewritten by each run; the rest of this file is written by hand.

## Results

`;

/** Replaces (or appends) each ran benchmark's section in the Markdown file, in the catalogue order. */
export async function writeDoc(file, sections, order) {
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : SKELETON;
  for (const name of order) {
    const text = sections.get(name);
    if (text === undefined) continue;
    const re = new RegExp(`<!-- bench:${name}:begin -->[\\s\\S]*?<!-- bench:${name}:end -->`);
    if (re.test(doc)) doc = doc.replace(re, () => text);
    else {
      // Put a new section after the last existing section that comes before it in the catalogue.
      const before = order
        .slice(0, order.indexOf(name))
        .reverse()
        .find((n) => doc.includes(`<!-- bench:${n}:end -->`));
      if (before !== undefined) {
        const marker = `<!-- bench:${before}:end -->`;
        doc = doc.replace(marker, () => `${marker}\n\n${text}`);
      } else if (doc.includes('## Results\n')) doc = doc.replace('## Results\n', () => `## Results\n\n${text}\n`);
      else doc += `\n${text}\n`;
    }
  }
  // Formatted as `npm run check` (prettier --check) expects, so a run never leaves the tree failing the check.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(doc, { ...options, filepath: file }));
}

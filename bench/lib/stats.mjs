// Small statistics for noisy machines: medians over rounds, nearest-rank percentiles over samples.

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted array; NaN when empty. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const v = Float64Array.from(values).sort();
  const rank = Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length)));
  return v[rank - 1];
}

/** A figure rounded for a table: 3 significant digits, thousands kept whole. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

/** Runs `fns` alternately for `rounds` rounds, swapping the order every round so neither always goes first. */
export async function alternate(rounds, fns, log = () => {}) {
  const names = Object.keys(fns);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const value = await fns[name](r);
      results[name].push(value);
      log(`  round ${r + 1}/${rounds} ${name}: ${summarize(value)}`);
    }
  }
  return results;
}

function summarize(value) {
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ');
}

/** Per-key medians of a list of `{metric: number}` round results. */
export function medians(rounds) {
  const keys = new Set(rounds.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === 'number')));
  return Object.fromEntries([...keys].map((k) => [k, median(rounds.map((r) => r[k]))]));
}

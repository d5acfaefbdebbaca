/**
 * The snippet of a search hit, once for both dialects: a fragment of the text around the first match of each
 * search word, every match within them marked `[` `]`, fragments joined by `…`. The engines' own snippet functions
 * (FTS5 `snippet()`, `ts_headline` with one fragment) cut one window around the best match, so a second word further
 * away than the window was never shown.
 *
 * Tokens are read and folded as `unicode61 remove_diacritics 2` does (letters and digits; marks removed; lower
 * case), a superset of what PostgreSQL's `simple` configuration matches. Returns null when no token of `text`
 * matches (a folding this approximation does not share with an engine): the caller then keeps the engine's snippet.
 */

/** Tokens in a snippet with one search word; with several, each fragment gets a share of a somewhat larger budget. */
const ONE_WORD_TOKENS = 16;
const SEVERAL_WORDS_TOKENS = 24;
const MIN_FRAGMENT_TOKENS = 8;

interface Token {
  start: number;
  end: number;
  /** The index of the first search word this token matches (as a prefix), or -1. */
  term: number;
}

export function searchSnippet(text: string, terms: readonly string[]): string | null {
  const prefixes = terms.map(fold);
  const tokens: Token[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const word = fold(m[0]);
    const term = word === '' ? -1 : prefixes.findIndex((p) => word.startsWith(p));
    tokens.push({ start: m.index, end: m.index + m[0].length, term });
  }
  // The first occurrence of each word searched, in text order.
  const anchors: number[] = [];
  const seen = new Set<number>();
  tokens.forEach((t, i) => {
    if (t.term >= 0 && !seen.has(t.term)) {
      seen.add(t.term);
      anchors.push(i);
    }
  });
  if (anchors.length === 0) return null;

  const budget =
    anchors.length === 1
      ? ONE_WORD_TOKENS
      : Math.max(MIN_FRAGMENT_TOKENS, Math.floor(SEVERAL_WORDS_TOKENS / anchors.length));
  const before = Math.floor(budget / 4);
  const ranges: [number, number][] = [];
  for (const a of anchors) {
    let from = Math.max(0, a - before);
    const to = Math.min(tokens.length - 1, from + budget - 1);
    from = Math.max(0, Math.min(from, to - budget + 1));
    const last = ranges[ranges.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else ranges.push([from, to]);
  }

  const fragments = ranges.map(([from, to]) => {
    let out = '';
    let at = from === 0 ? 0 : tokens[from]!.start;
    for (let i = from; i <= to; i++) {
      const t = tokens[i]!;
      out += text.slice(at, t.start);
      const word = text.slice(t.start, t.end);
      out += t.term >= 0 ? `[${word}]` : word;
      at = t.end;
    }
    return to === tokens.length - 1 ? out + text.slice(at) : out;
  });
  const head = ranges[0]![0] > 0 ? '…' : '';
  const tail = ranges[ranges.length - 1]![1] < tokens.length - 1 ? '…' : '';
  return (head + fragments.join(' … ') + tail).trim();
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

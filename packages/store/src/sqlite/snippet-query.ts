/**
 * The FTS5 query a message's snippet is made with: the words of that message that the search's prefixes matched,
 * each as an exact term, OR-ed. A prefix longer than the table's prefix index (`prefix = '2 3 4'`, migration 4)
 * makes FTS5 copy the whole doclist of every word it starts into one buffer before it can seek to a rowid: for a
 * common word that is milliseconds per snippet, paid again for each row of the page. An exact term seeks. The row is
 * already known to match every word, so the highlighted instances are the same ones.
 *
 * Tokens are read and folded as `unicode61 remove_diacritics 2` does (letters and digits; marks removed; lower
 * case). Returns null when no token of `body` matches (a folding this approximation does not share with SQLite):
 * the caller then falls back to the prefix query.
 */
export function snippetQuery(body: string, terms: readonly string[]): string | null {
  const prefixes = terms.map(fold);
  const words = new Set<string>();
  for (const token of body.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []) {
    const word = fold(token);
    if (word !== '' && prefixes.some((p) => word.startsWith(p))) words.add(word);
  }
  if (words.size === 0) return null;
  return [...words].map((w) => `"${w}"`).join(' OR ');
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

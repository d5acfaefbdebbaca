/**
 * What a search `q` means, once for both dialects: its words (letters and digits, as both full-text tokenizers
 * split them), each matched as a prefix, all of them required. Anything else in `q` (quotes, operators, `*`) is
 * dropped, so no input can be a syntax error in either engine's query language.
 */
export const MAX_SEARCH_TERMS = 8;

/**
 * How many of the newest matching messages (and member records) a search ranks. A word found in half of a million
 * messages would otherwise be ranked half a million times per keystroke; the newest thousand matches are what an
 * inbox search is for, and ranking them stays within milliseconds whatever the word.
 */
export const SEARCH_WINDOW = 1000;

export function searchTerms(q: string): string[] {
  return (q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, MAX_SEARCH_TERMS).map((t) => t.slice(0, 64));
}

/** SQLite FTS5: `"ada"* AND "lov"*` (each term quoted, so it is never read as an operator). */
export function fts5Query(terms: readonly string[]): string {
  return terms.map((t) => `"${t}"*`).join(' AND ');
}

/** PostgreSQL `to_tsquery('simple', …)`: `ada:* & lov:*` (terms are letters and digits only). */
export function tsQuery(terms: readonly string[]): string {
  return terms.map((t) => `${t}:*`).join(' & ');
}

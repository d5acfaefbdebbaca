/// <reference lib="es2024.string" />
/**
 * Unicode well-formedness, decided once at the boundary: a string with a lone UTF-16 surrogate cannot be
 * stored as UTF-8 without being changed (SQLite writes U+FFFD bytes, PostgreSQL's driver folds it to U+FFFD), so
 * "alice\ud800" and "alice\ufffd" became one member on PostgreSQL and a message read back other than it was sent.
 * Such strings are refused before anything acts on them. `String.prototype.isWellFormed` is native from V8 11.1, so
 * Node 20 (V8 11.3) has it; only TypeScript's ES2023 lib lacks the declaration, hence the reference above.
 */
export function isWellFormed(s: string): boolean {
  return s.isWellFormed();
}

/** Strict UTF-8: invalid bytes throw instead of becoming U+FFFD (which would silently change what was sent). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** What is wrong with a parsed JSON value, if anything: where (a dotted path) and why. */
export interface JsonProblem {
  field: string;
  reason: 'depth' | 'surrogate';
}

/**
 * Walks a parsed JSON value without recursion (a 64 KiB body can nest 32,000 levels deep, which would overflow
 * the stack of any recursive walker, such as the idempotency fingerprint once did) and reports the first string or
 * key that is not well-formed, or the first value nested deeper than `maxDepth`.
 */
export function inspectJson(root: unknown, maxDepth: number): JsonProblem | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return { field: path === '' ? 'body' : path, reason: 'surrogate' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) return { field: path === '' ? 'body' : path, reason: 'depth' };
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], path: path === '' ? String(i) : `${path}.${i}`, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (!isWellFormed(key)) return { field: path === '' ? 'body' : path, reason: 'surrogate' };
      stack.push({
        value: (value as Record<string, unknown>)[key],
        path: path === '' ? key : `${path}.${key}`,
        depth: depth + 1,
      });
    }
  }
  return null;
}

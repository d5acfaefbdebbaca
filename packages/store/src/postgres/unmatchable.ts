const NUL = '\u0000';

/** A lookup by a value holding NUL cannot match a stored row (none can hold one), and would be a SQL error. */
export function unmatchable(params: readonly unknown[]): boolean {
  return params.some((p) => typeof p === 'string' && p.includes(NUL));
}

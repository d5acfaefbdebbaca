/**
 * A write rule is written once, as a generator over the dialect's steps (dialect.ts: `WriteTx`), and run by
 * either adapter: each `yield* step(tx.something(…))` hands the driver what the step returned, a value (SQLite,
 * whose driver is synchronous and runs a whole batch without yielding to the event loop) or a promise
 * (PostgreSQL), and gets back the result. So what a write means lives in one place (rules/, one file per domain) and a dialect
 * contributes only SQL text, row mapping and connection handling.
 */
export type Rule<T> = Generator<unknown, T, unknown>;

/** One step of a rule: `const x = yield* step(tx.query(…))`, typed as the step's result. */
export function* step<T>(value: T | Promise<T>): Generator<unknown, T, unknown> {
  return (yield value) as T;
}

/** Runs a rule whose steps all answer at once (SQLite); a promise from a step is a programming error. */
export function runSync<T>(rule: Rule<T>): T {
  let r = rule.next();
  while (r.done !== true) {
    if (r.value instanceof Promise) throw new Error('a synchronous dialect returned a promise from a step');
    r = rule.next(r.value);
  }
  return r.value;
}

/** Runs a rule whose steps may be promises (PostgreSQL); a failed step is thrown into the rule. */
export async function runAsync<T>(rule: Rule<T>): Promise<T> {
  let r = rule.next();
  while (r.done !== true) {
    let result: unknown;
    try {
      result = await r.value;
    } catch (error) {
      r = rule.throw(error);
      continue;
    }
    r = rule.next(result);
  }
  return r.value;
}

import type { WriteResult, WriteTx } from '../dialect.js';
import type { Rule } from '../steps.js';
import type { PostgresTx } from './postgres-queries.js';

/**
 * Runs write rules by hand instead of through `runAsync`, so that a batch can look at its ops before running them.
 *
 * A rule is started on a recording `WriteTx` whose methods do nothing but return the step asked for as data
 * (method name and arguments). The driver then either runs each step on the real transaction (`runRule`, what
 * `runAsync` does), or, when every op of the batch is a send, answers their steps itself from one read and writes
 * what they asked for in one statement (fused-sends.ts).
 */

export interface StepRequest {
  readonly method: string;
  readonly args: unknown[];
}

const RECORDER = new Proxy(
  {},
  {
    get: (_target, method) =>
      typeof method === 'string' ? (...args: unknown[]): StepRequest => ({ method, args }) : undefined,
  },
) as WriteTx;

type AnyRule = (tx: WriteTx) => Rule<WriteResult<unknown>>;

/** A rule started up to its first step. */
export interface Started<O> {
  op: O;
  gen: Rule<WriteResult<unknown>>;
  next: IteratorResult<unknown, WriteResult<unknown>>;
}

/** Starts a rule up to its first step (nothing runs on the database); throws what the rule throws before it. */
export function startRule(rule: AnyRule): Omit<Started<never>, 'op'> {
  const gen = rule(RECORDER);
  const next = gen.next();
  return { gen, next };
}

/** Runs a started rule to its end, each step on the transaction; a failed step is thrown into the rule. */
export async function runRule(s: Omit<Started<unknown>, 'op'>, tx: PostgresTx): Promise<WriteResult<unknown>> {
  let r = s.next;
  while (r.done !== true) {
    const { method, args } = r.value as StepRequest;
    let result: unknown;
    try {
      const f = (tx as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      if (f === undefined) throw new Error(`no step ${method}`);
      result = await f.apply(tx, args);
    } catch (error) {
      r = s.gen.throw(error);
      continue;
    }
    r = s.gen.next(result);
  }
  return r.value;
}

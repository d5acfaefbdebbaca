import type pg from 'pg';
import type { WriteResult, WriteTx } from '../dialect.js';
import type { Rule } from '../steps.js';
import { BATCHED_STEPS } from './batched-steps.js';
import type { PostgresTx } from './postgres-queries.js';

/**
 * Runs write rules by hand instead of through `runAsync`, so that a batch can run many ops' steps as one statement.
 *
 * A rule is started on a recording `WriteTx` whose methods do nothing but return the step asked for as data
 * (method name and arguments). The driver then either runs each step on the real transaction (`runRule`, what
 * `runAsync` does), or, for ops whose steps all have a many-op form (sends: `appendMessage`, then
 * `recordIdempotency`), runs them in lockstep: round k runs the k-th step of every op as one statement
 * (`runOpsTogether`). That equals running the ops one after another in batch order, because each many-op statement
 * equals its steps run in op order, and the steps with a many-op form touch disjoint tables (the org counter,
 * messages, conversations and events; the idempotency keys), so a later op's step 1 and an earlier op's step 2
 * commute. A step with another method, or a round whose ops ask for different steps, gives up (`next-mode`):
 * the batch is rolled back and runs again one op at a time.
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
  /** Its first step has a many-op form. */
  canRunTogether: boolean;
}

/** Starts a rule up to its first step (nothing runs on the database); throws what the rule throws before it. */
export function startRule(rule: AnyRule): Omit<Started<never>, 'op'> {
  const gen = rule(RECORDER);
  const next = gen.next();
  return { gen, next, canRunTogether: next.done !== true && BATCHED_STEPS.has((next.value as StepRequest).method) };
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

export type TogetherOutcome<O> =
  | { kind: 'done'; results: { op: O; result: WriteResult<unknown> }[] }
  /** An op's rule threw (or the statement of its round failed): the transaction must be rolled back. */
  | { kind: 'failed'; op: O; error: unknown }
  | { kind: 'next-mode' };

/** Runs started rules in lockstep, one statement per round for all (see above). */
export async function runOpsTogether<O>(started: readonly Started<O>[], c: pg.ClientBase): Promise<TogetherOutcome<O>> {
  let active = [...started];
  const results: { op: O; result: WriteResult<unknown> }[] = [];
  while (active.length > 0) {
    const steps = active.map((s) => s.next.value as StepRequest);
    const method = steps[0]!.method;
    const many = BATCHED_STEPS.get(method);
    if (many === undefined || steps.some((s) => s.method !== method)) return { kind: 'next-mode' };
    let answers: unknown[];
    try {
      answers = await many(c, steps.map((s) => s.args) as never[]);
    } catch (error) {
      // Which op's data broke the statement is unknown; the caller runs the batch again with savepoints.
      return { kind: 'failed', op: active[0]!.op, error };
    }
    for (const [i, s] of active.entries()) {
      try {
        s.next = s.gen.next(answers[i]);
      } catch (error) {
        return { kind: 'failed', op: s.op, error };
      }
      if (s.next.done === true) results.push({ op: s.op, result: s.next.value });
    }
    active = active.filter((s) => s.next.done !== true);
  }
  return { kind: 'done', results };
}

import type { WriteResult, WriteTx } from './dialect.js';
import type { Rule } from './steps.js';
import * as rules from './write-rules.js';

/**
 * A write as data: the name of a rule in write-rules.ts and its plain-data arguments (records, strings, numbers,
 * byte arrays: what `postMessage` copies). A writer in another thread (sqlite/writer-thread.ts) receives this,
 * looks the rule up in the same module and runs it on its own connection, so a rule added to a file of rules/ (listed in
 * write-rules.ts) runs there with no code of its own: nothing is registered, nothing is serialised by hand.
 */
export interface WriteCall {
  readonly rule: RuleName;
  readonly args: readonly unknown[];
}

type Rules = typeof rules;
/** Every export of write-rules.ts that is a rule: `(tx, ...args) => Rule<WriteResult<…>>`. */
export type RuleName = {
  [K in keyof Rules]: Rules[K] extends (tx: WriteTx, ...args: any[]) => Rule<WriteResult<unknown>> ? K : never;
}[keyof Rules];
type ArgsOf<K extends RuleName> = Rules[K] extends (tx: WriteTx, ...args: infer A) => unknown ? A : never;
type ValueOf<K extends RuleName> = ReturnType<Rules[K]> extends Rule<WriteResult<infer T>> ? T : never;

/** A rule applied to its arguments: callable on a transaction here, and carrying itself as data (`call`). */
export interface BoundRule<T> {
  (tx: WriteTx): Rule<WriteResult<T>>;
  readonly call: WriteCall;
}

/** `bindRule('insertMessage', input, idem)`: typed like calling the rule, without the transaction. */
export function bindRule<K extends RuleName>(rule: K, ...args: ArgsOf<K>): BoundRule<ValueOf<K>> {
  const call: WriteCall = { rule, args };
  return Object.assign((tx: WriteTx) => runCall(tx, call) as Rule<WriteResult<ValueOf<K>>>, { call });
}

/** Runs a write given as data: the rule of that name, on this transaction, with those arguments. */
export function runCall(tx: WriteTx, call: WriteCall): Rule<WriteResult<unknown>> {
  const rule = rules[call.rule] as (tx: WriteTx, ...args: unknown[]) => Rule<WriteResult<unknown>>;
  if (typeof rule !== 'function') throw new Error(`no write rule named ${String(call.rule)}`);
  return rule(tx, ...call.args);
}

import type { WriteOptions } from './transport.js';

/**
 * A call's arguments as `(params, options?)`, or in the hosted SDK's positional shape `(id, fields?, options?)`.
 * Only the calls the hosted SDK has take the second shape (docs/sdk.md); every other call is `(params, options?)`.
 */
export type Positional<P, F> = [first: P | string, second?: F | WriteOptions, third?: WriteOptions];

/** Reads either shape as `(params, options)`; `key` names the params field the positional id fills. */
export function positional<P, F>(key: string, ...[first, second, third]: Positional<P, F>): [P, WriteOptions] {
  if (typeof first !== 'string') return [first, (second as WriteOptions | undefined) ?? {}];
  return [{ ...(second as F | undefined), [key]: first } as P, third ?? {}];
}

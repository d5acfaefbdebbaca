import type { WriteOptions } from './transport.js';

/**
 * Reads a call given in the hosted SDK's positional shape, `(id, fields?, options?)`, as `(params, options)`, where
 * `key` names the id's field in the params; a call given as `(params, options?)` passes through. Only the calls
 * the hosted SDK has take that shape (docs/sdk.md): every other call is `(params, options?)` alone.
 */
export function positional<P, F>(
  key: string,
  first: P | string,
  second: F | WriteOptions | undefined,
  third: WriteOptions | undefined,
): [P, WriteOptions] {
  if (typeof first !== 'string') return [first, (second as WriteOptions | undefined) ?? {}];
  return [{ ...(second as F | undefined), [key]: first } as P, third ?? {}];
}

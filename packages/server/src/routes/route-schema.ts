import type { Operation } from '@concierge/protocol/contract';

/**
 * The Fastify schema of an operation of the contract's table: its request parts and answers (which Fastify
 * validates and the handler's types come from) and what the OpenAPI document shows of it.
 */
export function routeSchema<O extends Operation>(o: O): O & { security?: never[] } {
  return o.callers === 'public' ? { ...o, security: [] } : o;
}

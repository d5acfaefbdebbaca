import type { z } from 'zod';
import type { ErrorResponse } from './errors.js';

/**
 * Who may call an operation, one kind per credential: a member token, an agent token (`admin` is an agent token of
 * an admin agent; `agent` takes any agent), the Org-API-Key. `public` operations take no credential at all.
 */
export type Caller = 'member' | 'agent' | 'admin' | 'key';

export const CALLERS: readonly Caller[] = ['member', 'agent', 'admin', 'key'];

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An SSE answer, described one event at a time (OpenAPI has no vocabulary for an event stream). */
export interface EventStreamResponse {
  description: string;
  content: { 'text/event-stream': { schema: z.ZodType } };
}

/**
 * One entry of the operation table: everything the server registers a route from, enforces before it runs, and
 * documents; and everything a client's types are inferred from. `params`, `querystring`, `headers` and `body` are
 * the request's parts as zod schemas (Fastify's names); `response` maps each status to its answer, a schema for a
 * success and an error envelope (errors.ts) for each refusal.
 */
export interface Operation {
  operationId: string;
  method: Method;
  /** OpenAPI's form: `/v1/conversations/{id}`. */
  path: string;
  /** The credential kinds that may call it, or `public` for none. */
  callers: readonly Caller[] | 'public';
  /**
   * How a credential of another kind is refused: 403 FORBIDDEN, or 404 NOT_FOUND where even the existence of
   * what the route names must not leak to that credential.
   */
  refusal: 'FORBIDDEN' | 'NOT_FOUND';
  /** Stream routes also take a single-use `?ticket=` in place of `Authorization` (EventSource cannot send it). */
  ticket?: true;
  /**
   * The answer carries a credential or a secret (a token, a ticket, a signing secret, a sign-in link): the server
   * sends it with `Cache-Control: no-store`, an idempotent replay too, so no browser, proxy or CDN keeps a copy.
   */
  noStore?: true;
  tags: readonly string[];
  summary: string;
  description?: string;
  params?: z.ZodType;
  querystring?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
  response: { [status: number]: z.ZodType | ErrorResponse | EventStreamResponse };
}

/** Checks an entry against the shape while keeping its exact type (the schemas the handlers' types come from). */
export const operation = <O extends Operation>(o: O): O => o;

/** The credential kinds an operation refuses. */
export function refused(o: Pick<Operation, 'callers'>): Caller[] {
  if (o.callers === 'public') return [];
  const allowed = o.callers;
  return CALLERS.filter((c) => !allowed.includes(c) && !(c === 'admin' && allowed.includes('agent')));
}

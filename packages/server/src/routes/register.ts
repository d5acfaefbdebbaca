import { securityOf, type Operation } from '@concierge/protocol/contract';
import type {
  ContextConfigDefault,
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in the operation table (authentication and authorization read it). */
    operation?: Operation;
  }
}

export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

type RouteSchema<O extends Operation> = O & { security: Record<string, never[]>[] };

/** A handler whose request and answer types are the operation's schemas. */
export type Handler<O extends Operation> = RouteHandlerMethod<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  RouteSchema<O>,
  ZodTypeProvider,
  FastifyBaseLogger
>;

/**
 * The Fastify schema of an operation: its request parts and answers, and what the OpenAPI document shows of it
 * (its `security`: the schemes of the credential kinds that may call it).
 */
export function routeSchema<O extends Operation>(o: O): RouteSchema<O> {
  return { ...o, security: securityOf(o) };
}

/**
 * Registers an operation of the table: its method and path (the `/v1` routes live in the `/v1` scope, so the
 * prefix is left to it), its schema, and the entry itself in the route's config for the hooks that enforce it.
 */
export function route<O extends Operation>(app: ZodApp, o: O, handler: Handler<O>): void {
  routeWith(app, o, {}, handler);
}

/**
 * Marks the answers of a route whose success carries a credential or secret (`noStore` in the table) so that no
 * cache keeps one: set before the handler runs, so an idempotent replay, which the handler sends, carries it too.
 */
async function noStore(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.header('cache-control', 'no-store');
}

/** `route`, with hooks of the route's own (a same-origin check before anything else). */
export function routeWith<O extends Operation>(
  app: ZodApp,
  o: O,
  hooks: Pick<RouteShorthandOptions, 'onRequest'>,
  handler: Handler<O>,
): void {
  const own = hooks.onRequest === undefined ? [] : Array.isArray(hooks.onRequest) ? hooks.onRequest : [hooks.onRequest];
  const onRequest = o.noStore === true ? [noStore, ...own] : own;
  app.route({
    method: o.method,
    url: o.path.replace(/^\/v1(?=\/)/, '').replace(/\{(\w+)\}/g, ':$1'),
    schema: routeSchema(o),
    config: { operation: o },
    handler,
    ...(onRequest.length > 0 && { onRequest }),
  });
}

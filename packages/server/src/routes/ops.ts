import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';
import { operationTable } from '@concierge/protocol/contract';
import { route } from './register.js';

/** Health and readiness: unauthenticated, outside /v1, for load balancers (metrics: metrics-listener.ts). */
export function opsRoutes(fastify: FastifyInstance, ctx: AppContext, closing: () => boolean): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  route(app, ops.healthz, async () => ({ ok: true as const }));

  /**
   * Ready while the store answers, writes succeed and no shutdown has begun (a load balancer then stops sending
   * work). Once a write failed for lack of storage (a full disk, the database down), each probe tries a tiny
   * write of its own, so readiness comes back as soon as writes do, with or without traffic.
   */
  route(app, ops.readyz, async () => {
    if (closing()) throw new ApiError('UNAVAILABLE', 'Shutting down.');
    try {
      await ctx.store.latestEventSeq('readiness-probe');
    } catch {
      throw new ApiError('UNAVAILABLE', 'The store is not answering.', { headers: { 'retry-after': '2' } });
    }
    if (ctx.store.writesFailing()) {
      try {
        await ctx.store.probeWrite();
      } catch {
        throw new ApiError('UNAVAILABLE', 'Writes are failing (storage full or unavailable).', {
          headers: { 'retry-after': '2' },
        });
      }
    }
    return { ok: true as const, store: ctx.store.kind };
  });

  /** The OpenAPI document of this server, built from the route schemas (see openapi.ts). */
  route(app, ops.openapi, async () => {
    const document = fastify.swagger();
    // The plugin is configured for OpenAPI 3.1 (openapi.ts); this narrows its union of document versions.
    if (!('openapi' in document)) throw new Error('the swagger plugin made no OpenAPI 3 document');
    return { ...document };
  });
}

import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

/** Health and readiness: unauthenticated, outside /v1, for load balancers (metrics: metrics-listener.ts). */
export function opsRoutes(app: FastifyInstance, ctx: AppContext, closing: () => boolean): void {
  app.get('/healthz', async () => ({ ok: true }));

  /** Ready while the store answers and no shutdown has begun (a load balancer then stops sending work). */
  app.get('/readyz', async () => {
    if (closing()) throw new ApiError('UNAVAILABLE', 'Shutting down.');
    try {
      await ctx.store.latestEventSeq('readiness-probe');
    } catch {
      throw new ApiError('UNAVAILABLE', 'The store is not answering.');
    }
    return { ok: true, store: ctx.store.kind };
  });
}

import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

/** Health and readiness: unauthenticated, outside /v1, for load balancers (metrics: metrics-listener.ts). */
export function opsRoutes(app: FastifyInstance, ctx: AppContext, closing: () => boolean): void {
  app.get('/healthz', async () => ({ ok: true }));

  /**
   * Ready while the store answers, writes succeed and no shutdown has begun (a load balancer then stops sending
   * work). Once a write failed for lack of storage (a full disk, the database down), each probe tries a tiny
   * write of its own, so readiness comes back as soon as writes do, with or without traffic.
   */
  app.get('/readyz', async () => {
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
    return { ok: true, store: ctx.store.kind };
  });
}

import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError, notFound } from '../errors.js';
import { renderWebhookDelivery, renderWebhookEndpoint } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { AddressRefused, checkHost } from '../webhooks/address-policy.js';
import { newSigningSecret } from '../webhooks/signing.js';
import { route } from './register.js';
import { serverPrincipal } from './subject.js';

/** How long a rotated-out secret keeps signing beside the new one. */
const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

const PAGE_DEFAULT = 50;

/**
 * Webhook endpoints and their deliveries. Server-only. The hosted API's three routes (create, list,
 * delete) keep their shapes; the rest are ours. Writes that make deliveries due wake the deliverer at once.
 */
export function webhookRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /** The server's policy on where webhooks may go, checked when a URL is given (and again at every connection). */
  async function allowedURL(raw: string): Promise<string> {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && !ctx.config.webhooksAllowHttp)
      throw new ApiError('WEBHOOK_URL_REFUSED', '`url` must be https (this server does not allow http).', {
        field: 'url',
      });
    if (!ctx.config.webhooksAllowPrivate) {
      try {
        await checkHost(url.hostname);
      } catch (error) {
        if (!(error instanceof AddressRefused)) throw error;
        throw new ApiError('WEBHOOK_URL_REFUSED', `\`url\` is refused: ${error.message}.`, { field: 'url' });
      }
    }
    return url.href;
  }

  async function endpointOf(orgID: string, id: string): Promise<WebhookEndpointRecord> {
    const endpoint = id.length > 100 ? null : await ctx.store.getWebhookEndpoint(orgID, id);
    if (endpoint === null) throw notFound('webhook endpoint');
    return endpoint;
  }

  route(app, ops.createWebhook, async (req, reply) => {
    const server = serverPrincipal(req);
    const body = req.body;
    const input = {
      orgID: server.orgID,
      url: await allowedURL(body.url),
      events: [...new Set(body.events)],
      description: body.description ?? null,
      secret: newSigningSecret(),
    };
    return ctx.idempotency.run<WebhookEndpointRecord>(
      req,
      reply,
      server,
      async (idem) => {
        const endpoint = await ctx.store.createWebhookEndpoint(input, idem);
        ctx.webhooks.noteOrg(server.orgID);
        return endpoint;
      },
      rendering('createdWebhook'),
    );
  });

  route(app, ops.listWebhooks, async (req) => {
    const server = serverPrincipal(req);
    return { data: (await ctx.store.listWebhookEndpoints(server.orgID)).map(renderWebhookEndpoint) };
  });

  route(app, ops.getWebhook, async (req) => {
    const server = serverPrincipal(req);
    return renderWebhookEndpoint(await endpointOf(server.orgID, req.params.id));
  });

  /** A soft disable, idempotent by itself (DELETE carries no key): deleting twice answers the same. */
  route(app, ops.deleteWebhook, async (req) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    const endpoint = await ctx.store.disableWebhookEndpoint(server.orgID, req.params.id, 'deleted');
    if (endpoint === null) throw notFound('webhook endpoint');
    return { id: endpoint.id, ok: true as const };
  });

  route(app, ops.updateWebhook, async (req) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    const body = req.body;
    const patch = {
      url: body.url === undefined ? undefined : await allowedURL(body.url),
      events: body.events === undefined ? undefined : [...new Set(body.events)],
      description: body.description,
      enabled: body.enabled,
    };
    const endpoint = await ctx.store.updateWebhookEndpoint(server.orgID, req.params.id, patch);
    if (endpoint === null) throw notFound('webhook endpoint');
    if (endpoint.disabledAt === null) {
      ctx.webhooks.noteOrg(server.orgID);
      ctx.webhooks.wake();
    }
    return renderWebhookEndpoint(endpoint);
  });

  route(app, ops.rotateWebhookSecret, async (req, reply) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    const secret = newSigningSecret();
    return ctx.idempotency.run<WebhookEndpointRecord | null>(
      req,
      reply,
      server,
      (idem) => ctx.store.rotateWebhookSecret(server.orgID, req.params.id, secret, ROTATION_OVERLAP_MS, idem),
      rendering('rotatedWebhookSecret', { requestID: req.id }),
    );
  });

  route(app, ops.listWebhookDeliveries, async (req) => {
    const server = serverPrincipal(req);
    const endpoint = await endpointOf(server.orgID, req.params.id);
    let before: number | null = null;
    if (req.query.cursor !== undefined) {
      const position = decodeCursor(ctx.cursorSecret, req.query.cursor);
      if (position === null || position.kind !== 'e' || position.stream !== endpoint.id)
        throw new ApiError('INVALID_CURSOR', '`cursor` is not a cursor this server issued for these deliveries.', {
          field: 'cursor',
        });
      before = position.seq;
    }
    const limit = req.query.limit ?? PAGE_DEFAULT;
    const rows = await ctx.store.listWebhookDeliveries(endpoint.id, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(renderWebhookDelivery),
      nextCursor:
        rows.length > limit && last !== undefined
          ? encodeCursor(ctx.cursorSecret, { kind: 'e', stream: endpoint.id, seq: last.n })
          : null,
    };
  });

  route(app, ops.retryWebhookDelivery, async (req, reply) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    const { id, deliveryID } = req.params;
    return ctx.idempotency.run<WebhookDeliveryRecord | null>(
      req,
      reply,
      server,
      async (idem) => {
        const delivery = await ctx.store.retryWebhookDelivery(server.orgID, id, deliveryID, idem);
        ctx.webhooks.wake();
        return delivery;
      },
      rendering('retriedWebhookDelivery', { requestID: req.id }),
    );
  });

  route(app, ops.replayWebhooks, async (req, reply) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    const since = new Date(req.body.since).toISOString();
    return ctx.idempotency.run<number | null>(
      req,
      reply,
      server,
      async (idem) => {
        const count = await ctx.store.replayWebhookDeliveries(server.orgID, req.params.id, since, idem);
        ctx.webhooks.wake();
        return count;
      },
      rendering('replayedWebhooks', { requestID: req.id }),
    );
  });

  route(app, ops.testWebhook, async (req, reply) => {
    const server = serverPrincipal(req);
    await endpointOf(server.orgID, req.params.id);
    return ctx.idempotency.run<WebhookDeliveryRecord | null>(
      req,
      reply,
      server,
      async (idem) => {
        const delivery = await ctx.store.enqueueWebhookTest(server.orgID, req.params.id, idem);
        ctx.webhooks.wake();
        return delivery;
      },
      rendering('testWebhook', { requestID: req.id }),
    );
  });
}

import type { MemberRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { route } from './register.js';
import { serverPrincipal } from './subject.js';
import { ApiError, memberArchived } from '../errors.js';

/** `POST /v1/auth/exchange`: the org's backend trades its Org-API-Key for a short-lived member token. */
export function authRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);
  route(app, ops.exchangeToken, async (req, reply) => {
    const server = serverPrincipal(req);
    const body = req.body;
    const secret = await ctx.auth.orgSecret(server.orgID);
    if (secret === null) throw new ApiError('API_KEY_INVALID', 'The org of this key no longer exists.');
    const ttlMs = Math.round(ctx.config.tokenTtlSeconds * 1000);
    const issuedAt = Date.now();
    const profile = {
      ...(body.displayName !== undefined && { displayName: body.displayName }),
      ...(body.email !== undefined && { email: body.email }),
      ...(body.tier !== undefined && { tier: body.tier }),
    };
    // The token is minted inside the write (its renderer runs in the transaction), so a replay returns the same token.
    // An archived member gets no token; the write checks again, for an archive that lands meanwhile.
    const known = await ctx.store.getMember(server.orgID, body.externalUserID);
    if (known !== null && known.archivedAt !== null) throw memberArchived();
    const render = rendering('exchangedToken', { secret, orgID: server.orgID, issuedAt, ttlMs, requestID: req.id });
    return ctx.idempotency.run<MemberRecord>(
      req,
      reply,
      server,
      async (idem) => {
        const member = await ctx.store.upsertMember(server.orgID, body.externalUserID, profile, 'live', idem);
        ctx.auth.noteMember(member);
        return member;
      },
      render,
    );
  });
}

import { LIMITS } from '@concierge/protocol';
import type { MemberRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError, notFound } from '../errors.js';
import { renderMember } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { route } from './register.js';
import { serverPrincipal } from './subject.js';

/**
 * Server-only member administration, as the hosted API has it: PUT upserts, DELETE archives (offboards), and
 * erasure is its own explicit request. PUT and DELETE are idempotent by themselves (no key needed); the POSTs take
 * an Idempotency-Key like every POST.
 */
export function memberRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /** The tier a member without one reports: the org's, read each time so a change from the CLI shows at once. */
  const defaultTier = async (orgID: string): Promise<string> => {
    const org = await ctx.store.getOrg(orgID);
    if (org === null) throw new ApiError('API_KEY_INVALID', 'The org of this key no longer exists.');
    return org.defaultTier;
  };

  route(app, ops.listMembers, async (req) => {
    const server = serverPrincipal(req);
    let before: number | null = null;
    if (req.query.cursor !== undefined) {
      const position = decodeCursor(ctx.cursorSecret, req.query.cursor);
      if (position === null || position.kind !== 'u' || position.orgID !== server.orgID)
        throw new ApiError('INVALID_CURSOR', '`cursor` is not a cursor this server issued for this list.', {
          field: 'cursor',
        });
      before = position.seq;
    }
    const limit = req.query.limit ?? LIMITS.membersPageDefault;
    const [rows, tier] = await Promise.all([
      ctx.store.listMembers(server.orgID, before, limit + 1),
      defaultTier(server.orgID),
    ]);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      members: page.map((m) => renderMember(m, tier)),
      nextCursor:
        rows.length > limit && last !== undefined
          ? encodeCursor(ctx.cursorSecret, { kind: 'u', orgID: server.orgID, seq: last.listSeq })
          : null,
    };
  });

  route(app, ops.getMember, async (req) => {
    const server = serverPrincipal(req);
    const member = await ctx.store.getMember(server.orgID, req.params.externalUserID);
    if (member === null) throw notFound('member');
    return renderMember(member, await defaultTier(server.orgID));
  });

  route(app, ops.putMember, async (req, reply) => {
    const server = serverPrincipal(req);
    const ext = req.params.externalUserID;
    const before = await ctx.store.getMember(server.orgID, ext);
    const member = await ctx.store.upsertMember(server.orgID, ext, req.body, 'restore');
    // A restore tells every instance at once; the database is the authority either way (authenticator.ts).
    ctx.auth.noteMember(member, before !== null && before.archivedAt !== null);
    return reply.code(before === null ? 201 : 200).send(renderMember(member, await defaultTier(server.orgID)));
  });

  route(app, ops.archiveMember, async (req) => {
    const server = serverPrincipal(req);
    const ext = req.params.externalUserID;
    const member = await ctx.store.archiveMember(server.orgID, ext, Date.now());
    // Ends the member's streams on every instance now; one that misses the signal refuses the tokens all the
    // same, since the archive moved `tokensValidAfter` in the database it reads then.
    if (member !== null) ctx.auth.noteMember(member, true);
    return {
      externalUserID: ext,
      archived: member !== null,
      balanceRetained: false,
      ok: true as const,
      deleted: false as const,
    };
  });

  route(app, ops.eraseMember, async (req, reply) => {
    const server = serverPrincipal(req);
    const ext = req.params.externalUserID;
    return ctx.idempotency.run<boolean>(
      req,
      reply,
      server,
      async (idem) => {
        const member = await ctx.store.getMember(server.orgID, ext);
        const erased = await ctx.store.deleteMember(server.orgID, ext, idem);
        if (member !== null) ctx.auth.noteDeleted(member.id, server.orgID);
        return erased;
      },
      rendering('erasedMember'),
    );
  });

  route(app, ops.revokeMemberTokens, async (req, reply) => {
    const server = serverPrincipal(req);
    const ext = req.params.externalUserID;
    if ((await ctx.store.getMember(server.orgID, ext)) === null) throw notFound('member');
    return ctx.idempotency.run<MemberRecord | null>(
      req,
      reply,
      server,
      async (idem) => {
        const member = await ctx.store.revokeMemberTokens(server.orgID, ext, Date.now(), idem);
        if (member !== null) ctx.auth.noteMember(member, true);
        return member;
      },
      rendering('revokedTokens', { requestID: req.id }),
    );
  });
}

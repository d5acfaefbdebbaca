import type { MemberRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { renderMember } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { deleteMemberSchema, getMemberSchema, putMemberSchema, revokeTokensSchema } from '../schemas/members.js';
import { requireServer, serverOnly } from './subject.js';

/**
 * Server-only member administration. PUT and DELETE are idempotent by themselves (no key needed); the POST
 * takes an Idempotency-Key like every POST.
 */
export function memberRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get('/members/:externalUserID', { schema: getMemberSchema, preValidation: serverOnly }, async (req) => {
    const server = requireServer(req);
    const member = await ctx.store.getMember(server.orgID, req.params.externalUserID);
    if (member === null) throw notFound('member');
    return renderMember(member);
  });

  app.put('/members/:externalUserID', { schema: putMemberSchema, preValidation: serverOnly }, async (req, reply) => {
    const server = requireServer(req);
    const ext = req.params.externalUserID;
    const existed = (await ctx.store.getMember(server.orgID, ext)) !== null;
    const member = await ctx.store.upsertMember(server.orgID, ext, req.body, 'replace');
    ctx.auth.noteMember(member);
    return reply.code(existed ? 200 : 201).send(renderMember(member));
  });

  app.delete('/members/:externalUserID', { schema: deleteMemberSchema, preValidation: serverOnly }, async (req) => {
    const server = requireServer(req);
    const ext = req.params.externalUserID;
    const member = await ctx.store.getMember(server.orgID, ext);
    const deleted = await ctx.store.deleteMember(server.orgID, ext);
    if (member !== null) ctx.auth.noteDeleted(member.id, server.orgID);
    return { ok: true as const, deleted };
  });

  app.post(
    '/members/:externalUserID/revoke-tokens',
    { schema: revokeTokensSchema, preValidation: serverOnly },
    async (req, reply) => {
      const server = requireServer(req);
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
    },
  );
}

import { LIMITS } from '@concierge/protocol';
import type { MemberRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { json, renderMember } from '../render.js';
import { identifier, memberBody, parse } from '../validation.js';
import { requireServer } from './subject.js';

type Params = { externalUserID: string };

/**
 * Server-only member administration. PUT and DELETE are idempotent by themselves (no key needed); the POST
 * takes an Idempotency-Key like every POST.
 */
export function memberRoutes(app: FastifyInstance, ctx: AppContext): void {
  const externalID = (params: unknown): string =>
    parse(
      identifier(LIMITS.externalUserIDMaxChars).transform((s) => s),
      (params as Params).externalUserID,
      'query',
    );

  app.get('/members/:externalUserID', async (req) => {
    const server = requireServer(req);
    const member = await ctx.store.getMember(server.orgID, externalID(req.params));
    if (member === null) throw notFound('member');
    return renderMember(member);
  });

  app.put('/members/:externalUserID', async (req, reply) => {
    const server = requireServer(req);
    const ext = externalID(req.params);
    const body = parse(memberBody, req.body, 'body');
    const existed = (await ctx.store.getMember(server.orgID, ext)) !== null;
    const member = await ctx.store.upsertMember(server.orgID, ext, body, 'replace');
    ctx.auth.noteMember(member);
    return reply.code(existed ? 200 : 201).send(renderMember(member));
  });

  app.delete('/members/:externalUserID', async (req) => {
    const server = requireServer(req);
    const ext = externalID(req.params);
    const member = await ctx.store.getMember(server.orgID, ext);
    const deleted = await ctx.store.deleteMember(server.orgID, ext);
    if (member !== null) ctx.auth.noteDeleted(member.id, server.orgID);
    return { ok: true, deleted };
  });

  app.post('/members/:externalUserID/revoke-tokens', async (req, reply) => {
    const server = requireServer(req);
    const ext = externalID(req.params);
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
      (member) =>
        member === null
          ? json(404, notFound('member').body(req.id))
          : json(200, { ok: true, revokedAt: new Date(member.tokensValidAfter).toISOString() }),
    );
  });
}

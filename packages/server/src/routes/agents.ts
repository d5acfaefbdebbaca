import type { CreateAgentResponse } from '@concierge/protocol';
import { AgentExists } from '@concierge/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { newSignInLink, signInURL } from '../auth/sign-in-links.js';
import type { AppContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { renderAgent, renderAgentSession, renderTeammate } from '../render.js';
import { operationTable } from '@concierge/protocol/contract';
import { agentPrincipal, teamPrincipal, type TeamPrincipal } from './subject.js';
import { route } from './register.js';

/** The base URL of sign-in links: `--public-url`, or what the request was addressed to. */
export function publicBase(ctx: AppContext, req: FastifyRequest): string {
  if (ctx.config.publicUrl !== '') return ctx.config.publicUrl;
  return `${req.protocol}://${req.host}`;
}

/**
 * Agent management. Admin agents and the Org-API-Key manage agents; any agent reads itself and ends its own
 * sessions. An agent is never removed, only disabled, so the authors of old replies and notes stay named.
 */
export function agentRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /** Admins and the key see any agent of the org; a plain agent only itself (others are 403, not 404). */
  async function visibleAgent(p: TeamPrincipal, id: string) {
    if (p.kind === 'agent' && p.role !== 'admin' && p.agentID !== id)
      throw new ApiError('FORBIDDEN', "Only an admin agent (or the Org-API-Key) may manage another agent's sessions.");
    const agent = id.length > 100 ? null : await ctx.store.getAgent(p.orgID, id);
    if (agent === null) throw notFound('agent');
    return agent;
  }

  route(app, ops.getCurrentAgent, async (req) => {
    const p = agentPrincipal(req);
    const agent = await ctx.store.getAgent(p.orgID, p.agentID);
    if (agent === null) throw notFound('agent');
    return renderAgent(agent);
  });

  route(app, ops.listAgents, async (req) => {
    const p = teamPrincipal(req);
    return { data: (await ctx.store.listAgents(p.orgID)).map(renderAgent) };
  });

  route(app, ops.listTeammates, async (req) => {
    const p = agentPrincipal(req);
    return { data: (await ctx.store.listAgents(p.orgID)).map(renderTeammate) };
  });

  route(app, ops.createAgent, async (req, reply) => {
    const p = teamPrincipal(req);
    const link = newSignInLink();
    try {
      const agent = await ctx.store.createAgent(
        { orgID: p.orgID, email: req.body.email.toLowerCase(), name: req.body.name, role: req.body.role ?? 'agent' },
        link.stored,
      );
      const body: CreateAgentResponse = {
        agent: renderAgent(agent),
        signInLink: signInURL(publicBase(ctx, req), link.token),
        signInLinkExpiresAt: new Date(link.stored.expiresAt).toISOString(),
      };
      return await reply.code(201).send(body);
    } catch (error) {
      if (error instanceof AgentExists)
        throw new ApiError('CONFLICT', 'An agent with this email exists in this org already.');
      throw error;
    }
  });

  route(app, ops.updateAgent, async (req) => {
    const p = teamPrincipal(req);
    if (req.params.id.length > 100) throw notFound('agent');
    const agent = await ctx.store.updateAgent(p.orgID, req.params.id, req.body);
    if (agent === null) throw notFound('agent');
    if (req.body.disabled === true) ctx.auth.noteAgentRevoked(agent.orgID, agent.id, null);
    return renderAgent(agent);
  });

  route(app, ops.listAgentSessions, async (req) => {
    const p = teamPrincipal(req);
    const agent = await visibleAgent(p, req.params.id);
    const current = p.kind === 'agent' ? p.sessionID : null;
    const now = new Date().toISOString();
    const live = (await ctx.store.listAgentSessions(agent.id)).filter((s) => s.expiresAt > now);
    return { data: live.map((s) => renderAgentSession(s, current)) };
  });

  route(app, ops.revokeAgentSessions, async (req) => {
    const p = teamPrincipal(req);
    const agent = await visibleAgent(p, req.params.id);
    const revoked = await ctx.store.revokeAgentSessions(p.orgID, agent.id, null);
    ctx.auth.noteAgentRevoked(p.orgID, agent.id, null);
    return { ok: true as const, revoked };
  });

  route(app, ops.revokeAgentSession, async (req) => {
    const p = teamPrincipal(req);
    const mark = req.params.id.length > 100 ? null : await ctx.store.getAgentSession(req.params.id);
    if (mark === null || mark.agent.orgID !== p.orgID || mark.session.revokedAt !== null) throw notFound('session');
    await visibleAgent(p, mark.agent.id);
    await ctx.store.revokeAgentSessions(p.orgID, mark.agent.id, mark.session.id);
    ctx.auth.noteAgentRevoked(p.orgID, mark.agent.id, mark.session.id);
    return { id: mark.session.id, ok: true as const };
  });
}

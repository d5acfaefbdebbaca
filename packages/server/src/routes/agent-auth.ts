import type { SignedIn } from '@concierge/protocol';
import type { AgentRecord, AgentSessionRecord } from '@concierge/store';
import { newID } from '@concierge/ids';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AgentPeople, renderAgentOrg } from '../auth/agent-people.js';
import { AGENT_TOKEN_TTL_MS, signAgentToken } from '../auth/agent-tokens.js';
import {
  clearCookie,
  hashSecret,
  newRefreshSecret,
  readCookie,
  SESSION_TTL_MS,
  setCookie,
} from '../auth/refresh-cookie.js';
import { sameOriginOnly } from '../auth/same-origin.js';
import { hashLinkToken } from '../auth/sign-in-links.js';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';
import { renderAgent } from '../render.js';
import { operationTable } from '@concierge/protocol/contract';
import { route, routeWith } from './register.js';
import { agentPrincipal } from './subject.js';

/**
 * Agent sign-in: a one-time link sets the password, then email and password; both answer a short-lived access
 * token and set the refresh cookie, which `refresh` rotates on every use. See docs/auth.md, "Agents".
 */
export function agentAuthRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);
  const sameOrigin = sameOriginOnly(ctx.config);
  const people = new AgentPeople(ctx.metrics, ctx.passwords);

  const userAgent = (req: FastifyRequest): string | null => {
    const ua = req.headers['user-agent'];
    // eslint-disable-next-line no-control-regex -- a header is stored and shown back: no control characters
    return typeof ua === 'string' && ua !== '' ? ua.slice(0, 300).replace(/[\u0000-\u001f\u007f]/g, '') : null;
  };

  /** A new session's id and refresh secret. */
  const sessionDraft = (req: FastifyRequest) => {
    const { secret, hash } = newRefreshSecret();
    const draft = {
      id: newID('ags'),
      refreshHash: hash,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS).toISOString(),
      userAgent: userAgent(req),
    };
    return { secret, draft };
  };

  /** The answer of every successful sign-in: an access token, and the refresh cookie. */
  async function signedIn(
    req: FastifyRequest,
    reply: FastifyReply,
    agent: AgentRecord,
    session: AgentSessionRecord,
    secret: string,
  ): Promise<SignedIn> {
    const orgSecret = await ctx.auth.orgSecret(agent.orgID);
    if (orgSecret === null) throw new ApiError('SESSION_INVALID', 'The org of this agent no longer exists.');
    const now = Date.now();
    const expiresAt = now + AGENT_TOKEN_TTL_MS;
    const accessToken = signAgentToken(orgSecret, {
      org: agent.orgID,
      sub: agent.id,
      sid: session.id,
      iatms: now,
      expms: expiresAt,
    });
    const orgs = (await people.orgsOf(ctx.store, agent)).map(renderAgentOrg);
    void reply.header('set-cookie', setCookie(req, session.id, secret));
    const limits = { maxMessageChars: ctx.config.maxMessageChars };
    return { accessToken, expiresAt: new Date(expiresAt).toISOString(), agent: renderAgent(agent), orgs, limits };
  }

  route(app, ops.agentSetup, async (req, reply) => {
    const linkHash = hashLinkToken(req.body.token);
    // Counted like sign-in attempts: per link, and per address, which is what stops a flood of made-up links.
    const attempt = ctx.signIns.reserve(`link:${linkHash}`, req.ip);
    const refused = new ApiError('SIGN_IN_LINK_INVALID', 'This sign-in link is unknown, already used, or expired.');
    const { secret, draft } = sessionDraft(req);
    let mark;
    try {
      // The link is read before the password is hashed, so a bad one costs a read, not a KDF run; the password is
      // hashed with its email's KDF, shared by the email's agents in every org (agent-people.ts).
      mark = await people.setUp(ctx.store, linkHash, req.body.password, draft);
    } catch (error) {
      if (error instanceof Error && error.name === 'LinkRefused') throw refused;
      // A full hash queue checked nothing: the attempt does not count, and the link stays usable.
      if (error instanceof ApiError && error.code === 'UNAVAILABLE') attempt.refund(error);
      throw error;
    }
    if (mark === null) throw refused;
    attempt.succeed();
    return signedIn(req, reply, mark.agent, mark.session, secret);
  });

  route(app, ops.agentSignIn, async (req, reply) => {
    const email = req.body.email.toLowerCase();
    // Reserved before the hash, and a failure until it succeeds: simultaneous guesses cannot overrun the limit.
    const attempt = ctx.signIns.reserve(`email:${email}`, req.ip);
    // The KDF runs once whatever was found (against a dummy for an unknown email), and the password is compared with
    // the email's agents in every org at once, so an outsider learns nothing of which orgs, or how many, it is in.
    const agent = await people
      .signIn(ctx.store, email, req.body.password, req.body.orgID ?? null)
      .catch(attempt.refund);
    if (agent === null) throw new ApiError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    attempt.succeed();
    const { secret, draft } = sessionDraft(req);
    const session = await ctx.store.openAgentSession(agent.orgID, agent.id, draft);
    return signedIn(req, reply, agent, session, secret);
  });

  routeWith(app, ops.agentRefresh, { onRequest: sameOrigin }, async (req, reply) => {
    const cookie = readCookie(req);
    const invalid = () => {
      void reply.header('set-cookie', clearCookie(req));
      return new ApiError('SESSION_INVALID', 'Sign in again: this session is unknown, expired or ended.');
    };
    if (cookie === null) throw invalid();
    const { secret, hash } = newRefreshSecret();
    const outcome = await ctx.store.refreshAgentSession(cookie.sessionID, hashSecret(cookie.secret), {
      hash,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS).toISOString(),
    });
    if (outcome.kind === 'reused') {
      // The cookie was copied: the session is revoked, and whoever holds an access token of it loses it now.
      const mark = await ctx.store.getAgentSession(cookie.sessionID);
      if (mark !== null) ctx.auth.noteAgentRevoked(mark.agent.orgID, mark.agent.id, mark.session.id);
    }
    if (outcome.kind !== 'rotated') throw invalid();
    return signedIn(req, reply, outcome.agent, outcome.session, secret);
  });

  route(app, ops.agentSwitchOrg, async (req, reply) => {
    const p = agentPrincipal(req);
    const self = await ctx.store.getAgent(p.orgID, p.agentID);
    const target =
      self === null ? undefined : (await people.orgsOf(ctx.store, self)).find((m) => m.orgID === req.body.orgID);
    // The same answer for an org the email is not in and one whose agent has another password: only the password
    // proves those are one person's.
    if (target === undefined) throw new ApiError('NOT_FOUND', 'You are not an agent of this org with this password.');
    const { secret, draft } = sessionDraft(req);
    const session = await ctx.store.openAgentSession(target.orgID, target.id, draft);
    // A browser holds one refresh cookie: the session it held until now would be one nobody can use or end.
    await ctx.store.revokeAgentSessions(p.orgID, p.agentID, p.sessionID);
    ctx.auth.noteAgentRevoked(p.orgID, p.agentID, p.sessionID);
    return signedIn(req, reply, target, session, secret);
  });

  routeWith(app, ops.agentSignOut, { onRequest: sameOrigin }, async (req, reply) => {
    let ended: { orgID: string; agentID: string; sessionID: string } | null = null;
    if (req.headers.authorization !== undefined) {
      const p = await ctx.auth.authenticate(req.headers.authorization);
      if (p.kind === 'agent') ended = { orgID: p.orgID, agentID: p.agentID, sessionID: p.sessionID };
    } else {
      const cookie = readCookie(req);
      const mark = cookie === null ? null : await ctx.store.getAgentSession(cookie.sessionID);
      // Only the cookie's current secret ends the session: its id alone (shown in listings) is not enough.
      if (cookie !== null && mark !== null && mark.session.refreshHash === hashSecret(cookie.secret))
        ended = { orgID: mark.agent.orgID, agentID: mark.agent.id, sessionID: mark.session.id };
    }
    if (ended !== null) {
      await ctx.store.revokeAgentSessions(ended.orgID, ended.agentID, ended.sessionID);
      ctx.auth.noteAgentRevoked(ended.orgID, ended.agentID, ended.sessionID);
    }
    void reply.header('set-cookie', clearCookie(req));
    return { ok: true as const };
  });
}

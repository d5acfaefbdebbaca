import type { Actor, ConversationRecord } from '@concierge/store';
import type { ConversationOwner } from '../conversation-owners.js';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/authenticator.js';
import type { AppContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';

/** The member a member-mode call acts for. `memberID` is null when a server credential names an unknown member. */
export interface Subject {
  orgID: string;
  memberID: string | null;
  externalUserID: string;
  principal: Principal;
}

export function requireServer(req: FastifyRequest): Extract<Principal, { kind: 'server' }> {
  const p = req.principal;
  if (p.kind !== 'server')
    throw new ApiError('FORBIDDEN', 'This route needs the Org-API-Key; a member or agent token may not call it.');
  return p;
}

/** The concierge team: an agent, or the Org-API-Key (bots, the org's backend). */
export type TeamPrincipal = Extract<Principal, { kind: 'server' | 'agent' }>;

export function isTeam(p: Principal): p is TeamPrincipal {
  return p.kind === 'server' || p.kind === 'agent';
}

export function requireTeam(req: FastifyRequest): TeamPrincipal {
  const p = req.principal;
  if (!isTeam(p))
    throw new ApiError('FORBIDDEN', 'This route is for the concierge team (an agent or the Org-API-Key).');
  return p;
}

/** Team routes run this before validation, so a member token is refused (403) whatever it sent. */
export async function teamOnly(req: FastifyRequest): Promise<void> {
  requireTeam(req);
}

/** Agent management: an admin agent or the Org-API-Key. */
export function requireAdmin(req: FastifyRequest): TeamPrincipal {
  const p = requireTeam(req);
  if (p.kind === 'agent' && p.role !== 'admin')
    throw new ApiError('FORBIDDEN', 'Only an admin agent (or the Org-API-Key) may manage agents.');
  return p;
}

export async function adminOnly(req: FastifyRequest): Promise<void> {
  requireAdmin(req);
}

/**
 * Who acts, for state changes and notes: an agent is always themselves; the Org-API-Key may name an enabled agent
 * of its org with `Concierge-Agent-ID`, and acts as itself (`key`) without it.
 */
export async function teamActor(ctx: AppContext, req: FastifyRequest): Promise<Actor> {
  const p = requireTeam(req);
  if (p.kind === 'agent') return { kind: 'agent', id: p.agentID };
  const named = req.headers['concierge-agent-id'];
  if (named === undefined) return { kind: 'key', id: p.keyID };
  const agent = typeof named === 'string' && named.length <= 100 ? await ctx.store.getAgent(p.orgID, named) : null;
  if (agent === null || agent.disabledAt !== null)
    throw new ApiError('VALIDATION', '`Concierge-Agent-ID` names no enabled agent of this org.', {
      field: 'Concierge-Agent-ID',
    });
  return { kind: 'agent', id: agent.id };
}

/**
 * Server-only routes run this before validation, so a member token is refused (403) whatever it sent, as it was
 * before route schemas: the handler's own `requireServer` then only narrows the type.
 */
export async function serverOnly(req: FastifyRequest): Promise<void> {
  requireServer(req);
}

/**
 * A member token acts for its own member; `externalUserID` naming anyone else is refused. A server credential
 * must name the member (`externalUserID`), or the call is 422 EXTERNAL_USER_ID_REQUIRED.
 */
export async function memberSubject(
  ctx: AppContext,
  req: FastifyRequest,
  externalUserID: string | undefined,
): Promise<Subject> {
  const p = req.principal;
  if (p.kind === 'member') {
    if (externalUserID !== undefined && externalUserID !== p.externalUserID)
      throw new ApiError('FORBIDDEN', 'A member token may only act for its own member.');
    return { orgID: p.orgID, memberID: p.memberID, externalUserID: p.externalUserID, principal: p };
  }
  if (externalUserID === undefined)
    throw new ApiError(
      'EXTERNAL_USER_ID_REQUIRED',
      'A server credential must name the member with `externalUserID` on member-mode routes.',
      { field: 'externalUserID' },
    );
  const member = await ctx.store.getMember(p.orgID, externalUserID);
  return { orgID: p.orgID, memberID: member?.id ?? null, externalUserID, principal: p };
}

/**
 * The conversation if `owner` may see it: a member id (null for an unknown member: nothing is visible), or
 * `org` for a server credential acting as the concierge. Anything else is the same 404, so existence never leaks.
 */
export async function visibleConversation(
  ctx: AppContext,
  orgID: string,
  owner: string | null,
  conversationID: string,
): Promise<ConversationRecord> {
  if (owner === null || conversationID.length > 100) throw notFound('conversation');
  const conversation = await ctx.store.getConversation(orgID, conversationID);
  if (conversation === null || (owner !== 'org' && conversation.memberID !== owner)) throw notFound('conversation');
  return conversation;
}

/** Like visibleConversation when only the owner matters (send, page, stream, typing): served from a cache. */
export async function ownedConversation(
  ctx: AppContext,
  orgID: string,
  owner: string | null,
  conversationID: string,
): Promise<ConversationOwner> {
  if (owner === null || conversationID.length > 100) throw notFound('conversation');
  const conversation = await ctx.conversations.get(orgID, conversationID);
  if (conversation === null || (owner !== 'org' && conversation.memberID !== owner)) throw notFound('conversation');
  return conversation;
}

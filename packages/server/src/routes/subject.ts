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

/**
 * The principal of a route whose table entry lets in only `kinds` (the authorize hook refused every other kind
 * before the handler ran): narrows the type for the handler. Another kind here is a fault of ours, so a 500.
 */
function principalAs<K extends Principal['kind']>(
  req: FastifyRequest,
  kinds: readonly K[],
): Extract<Principal, { kind: K }> {
  const p = req.principal;
  if (!(kinds as readonly string[]).includes(p.kind))
    throw new Error(`a ${p.kind} principal reached a route for ${kinds.join(', ')}`);
  return p as Extract<Principal, { kind: K }>;
}

/** The Org-API-Key, on a route only it may call. */
export const serverPrincipal = (req: FastifyRequest) => principalAs(req, ['server']);

/** An agent, on a route only agents may call. */
export const agentPrincipal = (req: FastifyRequest) => principalAs(req, ['agent']);

/** The concierge team: an agent, or the Org-API-Key (bots, the org's backend). */
export type TeamPrincipal = Extract<Principal, { kind: 'server' | 'agent' }>;

export function isTeam(p: Principal): p is TeamPrincipal {
  return p.kind === 'server' || p.kind === 'agent';
}

/** The team, on a route only the team may call (some of them admin agents only: the table says which). */
export const teamPrincipal = (req: FastifyRequest): TeamPrincipal => principalAs(req, ['server', 'agent']);

/**
 * Who acts, for state changes and notes: an agent is always themselves; the Org-API-Key may name an enabled agent
 * of its org with `Concierge-Agent-ID`, and acts as itself (`key`) without it.
 */
export async function teamActor(ctx: AppContext, req: FastifyRequest): Promise<Actor> {
  const p = teamPrincipal(req);
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

import type { ConversationRecord } from '@concierge/store';
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
    throw new ApiError('FORBIDDEN', 'This route needs the Org-API-Key; a member token may not call it.');
  return p;
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

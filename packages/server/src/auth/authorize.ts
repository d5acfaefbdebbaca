import type { Caller, Operation } from '@concierge/protocol/contract';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Principal } from './authenticator.js';

// Who may call a route is data in the operation table, enforced here and nowhere else (docs/STYLE.md, pattern 15).

/** The credential kind of a principal, as the operation table names them. */
export function callerOf(p: Principal): Caller {
  if (p.kind === 'member') return 'member';
  if (p.kind === 'server') return 'key';
  return p.role === 'admin' ? 'admin' : 'agent';
}

/** Whether `callers` lets `caller` in: an admin agent is an agent too. */
export function allows(callers: Operation['callers'], caller: Caller): boolean {
  if (callers === 'public') return true;
  return callers.includes(caller) || (caller === 'admin' && callers.includes('agent'));
}

const NAMES: Record<Caller, string> = {
  member: 'a member token',
  agent: 'an agent token',
  admin: 'an admin agent',
  key: 'the Org-API-Key',
};

/**
 * The one place a route's caller rule is enforced: the `callers` of its entry in the operation table. Runs right
 * after authentication, before the body is read, so a credential of the wrong kind is refused whatever it sent,
 * with the entry's `refusal`: 403, or 404 where the existence of what the route names must not leak. Checks that
 * need the resource (a member's own conversation, an agent's own sessions) stay in the handlers.
 */
export async function authorize(req: FastifyRequest): Promise<void> {
  const operation = req.routeOptions.config.operation;
  if (operation === undefined || operation.callers === 'public') return;
  if (allows(operation.callers, callerOf(req.principal))) return;
  if (operation.refusal === 'NOT_FOUND') throw new ApiError('NOT_FOUND', 'No such resource for this credential.');
  const who = operation.callers.map((c) => NAMES[c]).join(' or ');
  throw new ApiError('FORBIDDEN', `This route needs ${who}; this credential may not call it.`);
}

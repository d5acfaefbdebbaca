import { newID, nowISO } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import {
  AgentExists,
  NotFoundInStore,
  type AgentRecord,
  type AgentSessionMark,
  type AgentSessionRecord,
  type NewAgent,
  type NewAgentSession,
  type NewSignInLink,
  type RefreshOutcome,
} from '../store.js';
import { nothing } from './common-steps.js';

/** The team's agents: created, their sign-in links, their passwords, and their sessions (opened, rotated, revoked). */

export function* createAgent(tx: WriteTx, input: NewAgent, link: NewSignInLink): Rule<WriteResult<AgentRecord>> {
  if (!(yield* step(tx.orgExists(input.orgID)))) throw new NotFoundInStore('org');
  const agent: AgentRecord = {
    id: newID('agt'),
    orgID: input.orgID,
    email: input.email,
    name: input.name,
    role: input.role,
    createdAt: nowISO(),
    disabledAt: null,
  };
  if (!(yield* step(tx.insertAgent(agent)))) throw new AgentExists();
  yield* step(tx.insertSignInLink(link.hash, agent.id, link.expiresAt));
  return nothing(agent);
}

export function* addSignInLink(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  link: NewSignInLink,
): Rule<WriteResult<boolean>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null || agent.disabledAt !== null) return nothing(false);
  yield* step(tx.insertSignInLink(link.hash, agent.id, link.expiresAt));
  return nothing(true);
}

export function* updateAgent(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  patch: { name?: string | undefined; role?: AgentRecord['role'] | undefined; disabled?: boolean | undefined },
): Rule<WriteResult<AgentRecord | null>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null) return nothing(null);
  const now = nowISO();
  const next: AgentRecord = {
    ...agent,
    name: patch.name ?? agent.name,
    role: patch.role ?? agent.role,
    disabledAt: patch.disabled === undefined ? agent.disabledAt : patch.disabled ? (agent.disabledAt ?? now) : null,
  };
  yield* step(tx.updateAgent(next));
  // Disabling ends every session with it, so re-enabling never revives a session (or a stolen cookie).
  if (next.disabledAt !== null && agent.disabledAt === null) yield* step(tx.revokeAgentSessions(agent.id, null, now));
  return nothing(next);
}

function newSession(agent: AgentRecord, input: NewAgentSession): AgentSessionRecord {
  const now = nowISO();
  return {
    id: input.id,
    agentID: agent.id,
    orgID: agent.orgID,
    refreshHash: input.refreshHash,
    previousHash: null,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: input.expiresAt,
    userAgent: input.userAgent,
    revokedAt: null,
  };
}

/** Spends the link, sets the password and opens a session: all or nothing, so a link never half-works. */
export function* setupAgent(
  tx: WriteTx,
  linkHash: string,
  passwordHash: string,
  input: NewAgentSession,
  now: number,
): Rule<WriteResult<AgentSessionMark | null>> {
  const agentID = yield* step(tx.spendSignInLink(linkHash, now, new Date(now).toISOString()));
  if (agentID === null) return nothing(null);
  const agent = yield* agentByID(tx, agentID);
  if (agent === null || agent.disabledAt !== null) throw new LinkRefused();
  // Every password of one email shares the email's KDF and salt, so one KDF run at sign-in checks them all.
  const kdf = passwordHash.slice(0, passwordHash.lastIndexOf('$'));
  if ((yield* step(tx.ensureAgentPerson(agent.email, kdf))) !== kdf) throw new PasswordKdfMoved();
  yield* step(tx.setAgentPassword(agent.id, passwordHash));
  // A new password ends the sessions opened with the old one: a session proves its holder knew the password, and
  // it lets them switch to the email's other orgs whose password is the same (docs/auth.md, "Several orgs").
  yield* step(tx.revokeAgentSessions(agent.id, null, new Date(now).toISOString()));
  const session = newSession(agent, input);
  yield* step(tx.insertAgentSession(session));
  return nothing({ session, agent });
}

/**
 * Thrown when a password was hashed with a KDF other than its email's (a first password set for the same email at
 * the same moment recorded another salt first): nothing is written, and the caller hashes again with the one now
 * recorded.
 */
export class PasswordKdfMoved extends Error {
  constructor() {
    super("the email's password KDF is another one");
    this.name = 'PasswordKdfMoved';
  }
}

/** Thrown to undo a spent link whose agent was disabled meanwhile (the link stays unspent). */
export class LinkRefused extends Error {
  constructor() {
    super('sign-in link refused');
    this.name = 'LinkRefused';
  }
}

function* agentByID(tx: WriteTx, agentID: string): Rule<AgentRecord | null> {
  // The link names the agent alone; agent ids are unique across orgs.
  return yield* step(tx.findAgent(null, agentID));
}

export function* openAgentSession(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  input: NewAgentSession,
): Rule<WriteResult<AgentSessionRecord>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null || agent.disabledAt !== null) throw new NotFoundInStore('agent');
  const session = newSession(agent, input);
  yield* step(tx.insertAgentSession(session));
  return nothing(session);
}

/**
 * Refresh-token rotation (OAuth 2.0 Security BCP, "refresh token rotation"): the current secret is swapped for a
 * new one; the one it replaced, shown again, means two parties hold the cookie, so the session ends for both.
 */
export function* refreshAgentSession(
  tx: WriteTx,
  sessionID: string,
  presentedHash: string,
  next: { hash: string; expiresAt: string },
): Rule<WriteResult<RefreshOutcome>> {
  const session = yield* step(tx.agentSession(sessionID));
  const now = nowISO();
  if (session === null || session.revokedAt !== null || session.expiresAt <= now) return nothing({ kind: 'invalid' });
  if (session.previousHash !== null && session.previousHash === presentedHash) {
    yield* step(tx.revokeAgentSessions(session.agentID, session.id, now));
    return nothing({ kind: 'reused' });
  }
  if (session.refreshHash !== presentedHash) return nothing({ kind: 'invalid' });
  const agent = yield* step(tx.findAgent(session.orgID, session.agentID));
  if (agent === null || agent.disabledAt !== null) return nothing({ kind: 'invalid' });
  yield* step(tx.rotateAgentSession(session.id, next.hash, presentedHash, now, next.expiresAt));
  return nothing({
    kind: 'rotated',
    agent,
    session: {
      ...session,
      refreshHash: next.hash,
      previousHash: presentedHash,
      lastUsedAt: now,
      expiresAt: next.expiresAt,
    },
  });
}

export function* revokeAgentSessions(
  tx: WriteTx,
  orgID: string,
  agentID: string,
  sessionID: string | null,
): Rule<WriteResult<number>> {
  const agent = yield* step(tx.findAgent(orgID, agentID));
  if (agent === null) return nothing(0);
  return nothing(yield* step(tx.revokeAgentSessions(agent.id, sessionID, nowISO())));
}

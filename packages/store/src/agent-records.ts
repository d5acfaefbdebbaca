import type { AgentRole } from '@concierge/protocol';

/** The team's agents: their records, the people behind an email, sign-in links and sessions. */

export interface AgentRecord {
  id: string;
  orgID: string;
  email: string;
  name: string;
  role: AgentRole;
  createdAt: string;
  disabledAt: string | null;
}

/** An agent with its password hash (null until the sign-in link was used): only sign-in reads this. */
export interface AgentCredentials extends AgentRecord {
  passwordHash: string | null;
}

/** One of a person's agents, with the name of its org (the console's org switcher shows it). */
export interface AgentMembership extends AgentCredentials {
  orgName: string;
}

/**
 * Everyone who signs in with one email: the KDF, parameters and salt that every password set for that email is
 * hashed with (`scrypt$N$r$p$salt`; a stored password hash is this, `$`, then the key), null until the first
 * password is set; and the email's agents in every org, oldest first. One KDF run then checks a password against
 * every agent of the email (docs/design/agent-people.md).
 */
export interface AgentPerson {
  email: string;
  passwordKdf: string | null;
  memberships: AgentMembership[];
}

export interface AgentSessionRecord {
  id: string;
  agentID: string;
  orgID: string;
  /** SHA-256 of the current refresh secret. */
  refreshHash: string;
  /** SHA-256 of the secret it replaced: shown again, it proves a stolen cookie (the session is revoked). */
  previousHash: string | null;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  revokedAt: string | null;
}

/** What an agent access token is checked against on every request. */
export interface AgentSessionMark {
  session: AgentSessionRecord;
  agent: AgentRecord;
}

export interface NewAgent {
  orgID: string;
  email: string;
  name: string;
  role: AgentRole;
}

/** A one-time sign-in link: only its SHA-256 is stored. */
export interface NewSignInLink {
  hash: string;
  expiresAt: number;
}

export interface NewAgentSession {
  id: string;
  refreshHash: string;
  expiresAt: string;
  userAgent: string | null;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: AgentSessionRecord; agent: AgentRecord }
  /** A rotated secret came back: the cookie was copied; the session is now revoked. */
  | { kind: 'reused' }
  | { kind: 'invalid' };

/** Thrown when an agent with this email exists in the org already. */
export class AgentExists extends Error {
  constructor() {
    super('agent exists');
    this.name = 'AgentExists';
  }
}

/** The agents part of the Store port (store.ts). */
export interface AgentStore {
  /** Creates the agent and its one-time sign-in link; throws AgentExists when the email is taken in the org. */
  createAgent(agent: NewAgent, link: NewSignInLink): Promise<AgentRecord>;
  /** A new sign-in link for an existing agent (the old ones stay valid until used or expired). */
  addSignInLink(orgID: string, agentID: string, link: NewSignInLink): Promise<boolean>;
  listAgents(orgID: string): Promise<AgentRecord[]>;
  getAgent(orgID: string, agentID: string): Promise<AgentRecord | null>;
  /** Agents with this email (one per org, or the one in `orgID`), with their password hashes. */
  findAgentsByEmail(email: string, orgID: string | null): Promise<AgentCredentials[]>;
  /** The person behind an email; no memberships when it is nobody's. */
  findAgentPerson(email: string): Promise<AgentPerson>;
  /**
   * The email and password KDF of the agent a sign-in link would set up (unused, unexpired, agent enabled); null
   * for any other link. The KDF is null when the email has no password anywhere yet.
   */
  signInLinkPerson(linkHash: string, now: number): Promise<{ email: string; passwordKdf: string | null } | null>;
  /** Name, role, disabled; disabling revokes every session in the same transaction. Null if no such agent. */
  updateAgent(
    orgID: string,
    agentID: string,
    patch: { name?: string | undefined; role?: AgentRole | undefined; disabled?: boolean | undefined },
  ): Promise<AgentRecord | null>;
  /**
   * Spends a sign-in link (single use, unexpired), sets the password, ends the agent's other sessions and opens a
   * new one, atomically. Null when the link is unknown, spent or expired, or its agent disabled. The password hash
   * must be made with the email's password KDF (`signInLinkPerson`), or with a new one when it has none: a hash
   * made with another throws PasswordKdfMoved and nothing is written.
   */
  setupAgent(linkHash: string, passwordHash: string, session: NewAgentSession): Promise<AgentSessionMark | null>;
  openAgentSession(orgID: string, agentID: string, session: NewAgentSession): Promise<AgentSessionRecord>;
  /** Rotates a session's refresh secret when `presentedHash` is its current one (see RefreshOutcome). */
  refreshAgentSession(
    sessionID: string,
    presentedHash: string,
    next: { hash: string; expiresAt: string },
  ): Promise<RefreshOutcome>;
  getAgentSession(sessionID: string): Promise<AgentSessionMark | null>;
  listAgentSessions(agentID: string): Promise<AgentSessionRecord[]>;
  /** Revokes one session (`sessionID`) or all of an agent's; returns how many were live. */
  revokeAgentSessions(orgID: string, agentID: string, sessionID: string | null): Promise<number>;
}

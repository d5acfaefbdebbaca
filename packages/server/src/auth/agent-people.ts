import { timingSafeEqual } from 'node:crypto';
import type { AgentOrg } from '@concierge/protocol';
import type {
  AgentMembership,
  AgentPerson,
  AgentRecord,
  AgentSessionMark,
  NewAgentSession,
  Store,
} from '@concierge/store';
import { Counter } from 'prom-client';
import type { Metrics } from '../metrics.js';
import type { PasswordHasher } from './passwords.js';

/**
 * One person, several orgs (docs/design/agent-people.md). An email is one person on this server; each of their
 * agents (one per org) has its own password, set through its own sign-in link, and every password of the email is
 * hashed with the email's one KDF and salt. Sign-in runs that KDF once and compares the result with each agent's
 * stored hash: the password opens the agents it was set for, so
 *
 * - a person who chose the same password in two orgs signs in once and switches between them;
 * - whoever holds another org's sign-in link for the email (its admin) sets that org's password only, and never
 *   reaches the first org without its password;
 * - an unknown email, a wrong password, and an email in any number of orgs each cost exactly one KDF run and get
 *   the same answer.
 */
export class AgentPeople {
  private readonly kdfRuns: Counter<'route'>;

  constructor(
    private readonly metrics: Metrics,
    private readonly passwords: PasswordHasher,
  ) {
    this.kdfRuns = new Counter({
      name: 'concierge_agent_password_kdf_runs_total',
      help: 'password KDF runs of agent sign-in and setup: one per attempt, whatever the email is an agent of',
      labelNames: ['route'] as const,
      registers: [metrics.registry],
    });
  }

  /**
   * The agent that `password` opens for `email`: with `orgID`, the email's agent in that org only; without, the
   * oldest of the email's enabled agents the password opens. Null for anything else (unknown email, wrong
   * password, not set up, disabled), after the same single KDF run.
   */
  async signIn(store: Store, email: string, password: string, orgID: string | null): Promise<AgentMembership | null> {
    const person = await store.findAgentPerson(email);
    const candidates = orgID === null ? person.memberships : person.memberships.filter((m) => m.orgID === orgID);
    // Named by its org, an agent is checked against its own hash: one whose password predates the email's KDF (set
    // in another org before the KDF was shared) still signs in that way.
    const like = (orgID === null ? null : candidates[0]?.passwordHash) ?? person.passwordKdf ?? this.passwords.dummyKdf;
    this.kdfRuns.inc({ route: 'sign-in' });
    const hash = await this.passwords.hashLike(password, like);
    return (
      candidates.find((m) => m.disabledAt === null && m.passwordHash !== null && same(m.passwordHash, hash)) ?? null
    );
  }

  /**
   * Spends a sign-in link as `store.setupAgent` does, with the password hashed in the KDF of the link's email (a new
   * one for an email without a password). Null, before any KDF run, for a link that cannot be used.
   */
  async setUp(
    store: Store,
    linkHash: string,
    password: string,
    session: NewAgentSession,
  ): Promise<AgentSessionMark | null> {
    for (let attempt = 1; ; attempt++) {
      const link = await store.signInLinkPerson(linkHash, Date.now());
      if (link === null) {
        this.metrics.refusedBeforeHash.inc({ reason: 'bad_link' });
        return null;
      }
      this.kdfRuns.inc({ route: 'setup' });
      const hash = await this.passwords.hashLike(password, link.passwordKdf ?? this.passwords.newKdf());
      try {
        return await store.setupAgent(linkHash, hash, session);
      } catch (error) {
        // Another first password for the same email recorded its KDF a moment ago: hash once more with that one.
        if (!(error instanceof Error && error.name === 'PasswordKdfMoved' && attempt === 1)) throw error;
      }
    }
  }

  /** The orgs `agent`'s person may switch to: their enabled agents with the same password, `agent`'s own included. */
  async orgsOf(store: Store, agent: AgentRecord): Promise<AgentMembership[]> {
    return sharingPassword(await store.findAgentPerson(agent.email), agent.id);
  }
}

/** The memberships whose password is the one of `agentID` (same KDF and salt, so equal hashes), oldest first. */
function sharingPassword(person: AgentPerson, agentID: string): AgentMembership[] {
  const self = person.memberships.find((m) => m.id === agentID);
  if (self === undefined) return [];
  const hash = self.passwordHash;
  return person.memberships.filter(
    (m) => m.id === self.id || (m.disabledAt === null && hash !== null && m.passwordHash === hash),
  );
}

export function renderAgentOrg(m: AgentMembership): AgentOrg {
  return { orgID: m.orgID, orgName: m.orgName, agentID: m.id, role: m.role };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

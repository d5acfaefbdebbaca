import type { Store } from '@concierge/store';
import type { Authenticator } from '../auth/authenticator.js';
import { scopeMember } from './stream-scope.js';
import type { Subscriber } from './subscriber.js';

/**
 * The re-checks of open streams against the store, for what a signal alone must not decide: member tokens and the
 * data they show (after a resync, and at every heartbeat while notifications are not live), agent sessions and
 * Org-API-Keys (at every heartbeat: the CLI, another process, can end them without a signal). Each check runs one at
 * a time; a stream that no longer holds is ended through the hub.
 */
export class StreamChecks {
  private membersChecking = false;
  private membersAgain = false;
  private checkingAgents = false;
  private checkingKeys = false;

  constructor(
    private readonly store: Pick<Store, 'listApiKeys'>,
    private readonly auth: Pick<Authenticator, 'memberMark' | 'accepts' | 'stillValid'>,
    private readonly streams: () => Iterable<Subscriber>,
    private readonly end: (sub: Subscriber) => void,
    private readonly stopping: () => boolean,
  ) {}

  /**
   * Checks the member behind every open stream against the store: whose token holds it (revoked, removed) and
   * whose data it shows (removed). Runs after a resync, and at every heartbeat while notifications are not live,
   * so a stream outlives a lost signal by one heartbeat at most. One read per distinct member.
   */
  async members(): Promise<void> {
    if (this.membersChecking) {
      this.membersAgain = true;
      return;
    }
    this.membersChecking = true;
    try {
      do {
        this.membersAgain = false;
        const byMember = new Map<string, Subscriber[]>();
        for (const sub of this.streams()) {
          for (const memberID of new Set([sub.memberID, scopeMember(sub.scope)]))
            if (memberID !== null) addToList(byMember, memberID, sub);
        }
        for (const [memberID, subs] of byMember) {
          const mark = await this.auth.memberMark(memberID);
          for (const sub of subs) {
            if (sub.closed) continue;
            const ownToken = sub.memberID === memberID && !this.auth.accepts(sub.principal, mark);
            const dataGone = scopeMember(sub.scope) === memberID && (mark === null || mark.deleted);
            if (ownToken || dataGone) this.end(sub);
          }
        }
      } while (this.membersAgain && !this.stopping());
    } catch {
      // The store is unreachable: the next heartbeat (or resync) checks again.
    } finally {
      this.membersChecking = false;
    }
  }

  /**
   * Agent streams are re-checked against the store once per heartbeat: a disable from the CLI (another process)
   * or a signal lost with the LISTEN connection ends them within one heartbeat; the API's own disable and sign-out
   * end them at once through the `agent-revoked` signal.
   */
  async agents(): Promise<void> {
    if (this.checkingAgents) return;
    this.checkingAgents = true;
    try {
      const bySession = new Map<string, Subscriber[]>();
      for (const sub of this.streams())
        if (sub.principal.kind === 'agent') addToList(bySession, sub.principal.sessionID, sub);
      for (const subs of bySession.values()) {
        if (!(await this.auth.stillValid(subs[0]!.principal))) for (const sub of subs) this.end(sub);
      }
    } catch {
      // The store is unreachable: keep the streams; the next heartbeat checks again.
    } finally {
      this.checkingAgents = false;
    }
  }

  /**
   * Member tokens are re-checked on every write; a server credential (Org-API-Key) can be revoked from another
   * process (the CLI), so streams opened with one are re-checked against the store once per heartbeat.
   */
  async serverKeys(): Promise<void> {
    if (this.checkingKeys) return;
    this.checkingKeys = true;
    try {
      const byOrg = new Map<string, Subscriber[]>();
      for (const sub of this.streams())
        if (sub.principal.kind === 'server') {
          const list = byOrg.get(sub.principal.orgID) ?? [];
          list.push(sub);
          byOrg.set(sub.principal.orgID, list);
        }
      for (const [orgID, subs] of byOrg) {
        const active = new Set(
          (await this.store.listApiKeys(orgID)).filter((k) => k.revokedAt === null).map((k) => k.id),
        );
        for (const sub of subs) if (sub.principal.kind === 'server' && !active.has(sub.principal.keyID)) this.end(sub);
      }
    } catch {
      // The store is unreachable: keep the streams; the next heartbeat checks again.
    } finally {
      this.checkingKeys = false;
    }
  }
}

function addToList<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

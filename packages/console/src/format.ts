import type { Agent, InboxItem, Teammate } from '@concierge/sdk/agent';

export function memberName(member: InboxItem['member']): string {
  return member.displayName ?? member.email ?? member.externalUserID;
}

export function initials(name: string): string {
  const parts = name
    .trim()
    .split(/\s+/)
    .filter((p) => p !== '');
  const letters = parts.length > 1 ? parts[0]![0]! + parts[parts.length - 1]![0]! : (parts[0] ?? '?').slice(0, 2);
  return letters.toUpperCase();
}

/** "14:05" today, "Mon" this week, "3 Nov" before: what an inbox row has room for. */
export function shortTime(iso: string, now = new Date()): string {
  const at = new Date(iso);
  const days = (now.getTime() - at.getTime()) / 86_400_000;
  if (at.toDateString() === now.toDateString())
    return at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (days < 6) return at.toLocaleDateString(undefined, { weekday: 'short' });
  return at.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function fullTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Who an agent id is: every agent reads the team's names (`GET /v1/teammates`); a newer colleague until reloaded. */
export function agentName(id: string | null, me: Agent | null, team: ReadonlyMap<string, Teammate>): string {
  if (id === null) return 'Unassigned';
  if (me !== null && id === me.id) return 'You';
  return team.get(id)?.name ?? 'Another agent';
}

/** What a stream listens to: one conversation's messages, one member's events, or all of an org's events. */
export type StreamScope =
  | { kind: 'conversation'; orgID: string; conversationID: string; memberID: string }
  | { kind: 'member'; orgID: string; memberID: string }
  | { kind: 'org'; orgID: string };

/** The member whose data a stream shows, or null for an org's. */
export function scopeMember(scope: StreamScope): string | null {
  return scope.kind === 'org' ? null : scope.memberID;
}

import type { Agent, InboxItem, Teammate } from '@concierge/sdk/agent';
import { agentName, fullTime, initials, memberName } from './format.js';

/** The member behind the open conversation, and the conversation's state. */
export function MemberPanel(props: { item: InboxItem; me: Agent; team: ReadonlyMap<string, Teammate> }) {
  const { member, conversation } = props.item;
  const name = memberName(member);
  return (
    <aside class="member" aria-label="Member">
      <div class="member-head">
        <span class="avatar big" aria-hidden="true">
          {initials(name)}
        </span>
        <h2 class="member-name">{name}</h2>
        {member.tier !== null && <span class="tag tier">{member.tier}</span>}
      </div>
      <dl class="facts">
        <dt>Email</dt>
        <dd>{member.email ?? '—'}</dd>
        <dt>Member ID</dt>
        <dd class="mono">{member.externalUserID}</dd>
        <dt>Status</dt>
        <dd>{props.item.status === 'open' ? 'Open' : 'Closed'}</dd>
        <dt>Assignee</dt>
        <dd>{agentName(props.item.assigneeID, props.me, props.team)}</dd>
        <dt>Last activity</dt>
        <dd>{fullTime(props.item.lastActivityAt)}</dd>
        <dt>Conversation</dt>
        <dd class="mono">{conversation.id}</dd>
      </dl>
    </aside>
  );
}

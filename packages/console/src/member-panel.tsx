import type { Agent, InboxItem, Teammate } from '@concierge/sdk/agent';
import { useEffect, useRef } from 'preact/hooks';
import { agentName, fullTime, initials, memberName } from './format.js';

/**
 * The member behind the open conversation, and the conversation's state. Names and values take their direction
 * from their own text (`dir="auto"`), so Arabic or Hebrew reads right to left inside the left-to-right page; long
 * values (an email, an id) wrap instead of being cut off.
 */
export function MemberPanel(props: {
  item: InboxItem;
  me: Agent;
  team: ReadonlyMap<string, Teammate>;
  /** Inside the main pane (a phone's member screen): a section of it, not a landmark of the page's own. */
  inline: boolean;
  /**
   * Opened over the conversation or in its place (narrower than 1100 px): the focus moves into it, and Escape
   * closes it.
   */
  modal: boolean;
  onClose: () => void;
}) {
  const { member, conversation } = props.item;
  const name = memberName(member);
  const Box = props.inline ? 'section' : 'aside';
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (props.modal) closeRef.current?.focus();
  }, []);
  return (
    <Box
      class="member"
      id="member-panel"
      aria-label="Member"
      onKeyDown={(e) => {
        if (props.modal && e.key === 'Escape') props.onClose();
      }}
    >
      <button
        type="button"
        ref={closeRef}
        class="btn back member-close"
        aria-label="Back to conversation"
        onClick={props.onClose}
      >
        <span aria-hidden="true">‹ </span>Conversation
      </button>
      <div class="member-head">
        <span class="avatar big" aria-hidden="true">
          {initials(name)}
        </span>
        <h2 class="member-name" dir="auto">
          {name}
        </h2>
        {member.tier !== null && (
          <span class="tag tier" dir="auto">
            {member.tier}
          </span>
        )}
      </div>
      <dl class="facts">
        <dt>Email</dt>
        <dd dir="auto">{member.email ?? '—'}</dd>
        <dt>Member ID</dt>
        <dd class="mono" dir="auto">
          {member.externalUserID}
        </dd>
        <dt>Status</dt>
        <dd>{props.item.status === 'open' ? 'Open' : 'Closed'}</dd>
        <dt>Assignee</dt>
        <dd dir="auto">{agentName(props.item.assigneeID, props.me, props.team)}</dd>
        <dt>Last activity</dt>
        <dd>{fullTime(props.item.lastActivityAt)}</dd>
        <dt>Conversation</dt>
        <dd class="mono">{conversation.id}</dd>
      </dl>
    </Box>
  );
}

import type { Agent, InboxItem, Teammate } from '@concierge/sdk/agent';
import { DraftMark } from './draft-mark.js';
import { agentName, initials, memberName, shortTime } from './format.js';

export interface InboxListProps {
  items: InboxItem[];
  loading: boolean;
  hasMore: boolean;
  selectedID: string | null;
  unread: ReadonlySet<string>;
  me: Agent;
  team: ReadonlyMap<string, Teammate>;
  label: string;
  onOpen: (item: InboxItem) => void;
  onMore: () => void;
}

/** A search snippet marks its matches with `[` `]` (docs/api.md, "Inbox"): shown highlighted. */
function Snippet(props: { text: string }) {
  const parts = props.text.split(/\[([^\]]*)\]/);
  return <>{parts.map((part, i) => (i % 2 === 1 ? <mark key={i}>{part}</mark> : part))}</>;
}

/** One row per conversation: who, what was said last, when, and its state at a glance. */
export function InboxList(props: InboxListProps) {
  if (props.loading && props.items.length === 0)
    return (
      <p class="list-empty" role="status">
        Loading…
      </p>
    );
  if (props.items.length === 0)
    return (
      <p class="list-empty" role="status">
        Nothing here.
      </p>
    );
  return (
    <div class="list-scroll">
      <ul class="rows" aria-label={props.label}>
        {props.items.map((item) => {
          const id = item.conversation.id;
          const name = memberName(item.member);
          const isUnread = props.unread.has(id);
          const last = item.lastMessage;
          const snippet = item.search?.snippet;
          const preview =
            snippet?.replace(/[[\]]/g, '') ?? last?.preview ?? item.conversation.title ?? 'No messages yet';
          return (
            <li key={id}>
              <button
                type="button"
                id={`row-${id}`}
                class={`row${isUnread ? ' unread' : ''}`}
                aria-current={props.selectedID === id ? 'true' : undefined}
                data-conversation={id}
                onClick={() => props.onOpen(item)}
              >
                <span class="avatar" aria-hidden="true">
                  {initials(name)}
                </span>
                <span class="row-main">
                  <span class="row-top">
                    <span class="row-name" dir="auto">
                      {name}
                      {isUnread && <span class="visually-hidden"> (unread)</span>}
                    </span>
                    <time class="row-time" dateTime={item.lastActivityAt}>
                      {shortTime(item.lastActivityAt)}
                    </time>
                  </span>
                  {item.conversation.title !== null && (
                    <span class="row-title" dir="auto">
                      {item.conversation.title}
                    </span>
                  )}
                  <span class="row-preview" dir="auto">
                    {snippet === undefined && last !== null && !last.fromMember && <span class="you">↩ </span>}
                    {snippet === undefined ? preview : <Snippet text={snippet} />}
                  </span>
                  <span class="row-tags">
                    <DraftMark me={props.me} conversationID={id} />
                    {item.status === 'closed' && <span class="tag closed">Closed</span>}
                    {item.status === 'open' && item.awaitingReply && <span class="tag awaiting">Awaiting reply</span>}
                    <span class="tag assignee">{agentName(item.assigneeID, props.me, props.team)}</span>
                    {item.member.tier !== null && (
                      <span class="tag tier" dir="auto">
                        {item.member.tier}
                      </span>
                    )}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {props.hasMore && (
        <button type="button" class="more" onClick={props.onMore}>
          Load more
        </button>
      )}
    </div>
  );
}

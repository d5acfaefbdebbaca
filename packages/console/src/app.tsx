import type { Agent, AgentOrg, InboxCounts, InboxItem, InboxPage, Teammate } from '@concierge/sdk/agent';
import { RefreshError, UnauthorizedError } from '@concierge/sdk/agent';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { agent } from './client.js';
import { InboxList } from './inbox-list.js';
import { LiveEvents } from './live.js';
import { MemberPanel } from './member-panel.js';
import { SessionsPanel } from './sessions.js';
import { TeamPanel } from './team.js';
import { Thread } from './thread.js';
import { VIEWS, type ViewID } from './views.js';

interface ListState {
  items: InboxItem[];
  nextCursor: string | null;
  loading: boolean;
}

/** Keys that are shortcuts only when the focus is not in a text field (docs/console.md, "Keyboard"). */
function typingInField(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return el !== null && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
}

export function App(props: {
  me: Agent;
  /** The orgs the person may switch to, this one included; the switcher shows when there are several. */
  orgs: AgentOrg[];
  onSwitchOrg: (orgID: string) => Promise<void>;
  onSignedOut: () => void;
}) {
  const { me } = props;
  const live = useMemo(() => new LiveEvents(), []);
  const [status, setStatus] = useState<'connecting' | 'open' | 'reconnecting'>('connecting');
  const [view, setView] = useState<ViewID>('unassigned');
  const [query, setQuery] = useState('');
  const [counts, setCounts] = useState<InboxCounts | null>(null);
  const [list, setList] = useState<ListState>({ items: [], nextCursor: null, loading: true });
  const [selected, setSelected] = useState<InboxItem | null>(null);
  const [team, setTeam] = useState<ReadonlyMap<string, Teammate>>(new Map());
  const [unread, setUnread] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [panel, setPanel] = useState<'thread' | 'team' | 'sessions'>('thread');
  const searchRef = useRef<HTMLInputElement>(null);
  const replyRef = useRef<HTMLTextAreaElement>(null);
  const selectedRef = useRef<InboxItem | null>(null);
  selectedRef.current = selected;

  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof RefreshError || e instanceof UnauthorizedError) props.onSignedOut();
      else setError(e instanceof Error ? e.message : String(e));
    },
    [props.onSignedOut],
  );

  // The inbox of the current view (or the search), first page; reloaded after every event that can change it.
  const listKey = `${view}\u0000${query}`;
  const listKeyRef = useRef(listKey);
  listKeyRef.current = listKey;
  // Reloads can overlap (an event during a fetch): only the newest one's answer is shown.
  const loadSeq = useRef(0);
  const loadList = useCallback(async () => {
    const key = listKey;
    const seq = ++loadSeq.current;
    const base = VIEWS.find((v) => v.id === view)!.query;
    const q = query.trim();
    try {
      const page: InboxPage = await agent.inbox(q === '' ? { ...base, limit: 50 } : { q, limit: 50 });
      if (listKeyRef.current !== key || loadSeq.current !== seq) return;
      setList((prev) => {
        // Keep older pages the agent already scrolled to, minus whatever the fresh first page now holds.
        const fresh = new Set(page.data.map((i) => i.conversation.id));
        const kept = prev.loading ? [] : prev.items.slice(50).filter((i) => !fresh.has(i.conversation.id));
        return {
          items: [...page.data, ...kept],
          nextCursor: prev.loading ? page.nextCursor : prev.nextCursor,
          loading: false,
        };
      });
      setSelected((sel) => {
        if (sel === null) return sel;
        return page.data.find((i) => i.conversation.id === sel.conversation.id) ?? sel;
      });
    } catch (e) {
      if (listKeyRef.current === key) setList((prev) => ({ ...prev, loading: false }));
      fail(e);
    }
  }, [listKey, fail]);

  const countsSeq = useRef(0);
  const loadCounts = useCallback(async () => {
    const seq = ++countsSeq.current;
    try {
      const next = await agent.counts();
      if (countsSeq.current === seq) setCounts(next);
    } catch (e) {
      fail(e);
    }
  }, [fail]);

  // Coalesce a burst of events into one reload of each (a busy org sends many per second).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const loadListRef = useRef(loadList);
  loadListRef.current = loadList;
  const refresh = useCallback(() => {
    if (pending.current !== null) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      void loadListRef.current();
      void loadCounts();
    }, 200);
  }, [loadCounts]);

  useEffect(() => {
    setList({ items: [], nextCursor: null, loading: true });
    void loadList();
  }, [listKey]);

  // The one live connection. Lists load once it is open (and again after each reconnection), so nothing that
  // happens between the load and the stream can be missed.
  useEffect(() => {
    const stream = agent.stream(
      {},
      {
        onStatus: (s) => {
          setStatus(s);
          if (s === 'open') refresh();
        },
      },
    );
    void (async () => {
      try {
        for await (const event of stream) {
          live.emit(event);
          if (event.type === 'typing' || event.type === 'read') continue;
          refresh();
          if (event.type === 'message' && event.data.message.type === 'member') {
            const id = event.data.conversationID;
            if (selectedRef.current?.conversation.id !== id || document.hidden) setUnread((u) => new Set(u).add(id));
          }
          if (event.type === 'conversation.updated') {
            const state = event.data;
            setSelected((sel) =>
              sel !== null && sel.conversation.id === state.conversationID
                ? { ...sel, status: state.status, assigneeID: state.assigneeID, awaitingReply: state.awaitingReply }
                : sel,
            );
          }
        }
      } catch (e) {
        fail(e);
      }
    })();
    return () => stream.close();
  }, []);

  const loadTeam = useCallback(() => {
    // Every agent reads the team's names (not their emails): replies, notes and assignments name their agent.
    agent.listTeammates().then((list) => setTeam(new Map(list.map((t) => [t.id, t]))), fail);
  }, [me.id, fail]);
  useEffect(loadTeam, [loadTeam]);

  // The unread badge in the tab's title: conversations with a member message the agent has not opened since.
  useEffect(() => {
    document.title = unread.size > 0 ? `(${unread.size}) Concierge` : 'Concierge';
  }, [unread]);

  const open = useCallback((item: InboxItem) => {
    setPanel('thread');
    setSelected(item);
    setUnread((u) => {
      if (!u.has(item.conversation.id)) return u;
      const next = new Set(u);
      next.delete(item.conversation.id);
      return next;
    });
  }, []);

  const act = useCallback(
    async (what: 'assign' | 'unassign' | 'close' | 'reopen', item: InboxItem | null) => {
      if (item === null) return;
      const id = item.conversation.id;
      try {
        const state =
          what === 'assign'
            ? await agent.assign({ conversationID: id })
            : what === 'unassign'
              ? await agent.unassign({ conversationID: id })
              : what === 'close'
                ? await agent.close({ conversationID: id })
                : await agent.reopen({ conversationID: id });
        setSelected((sel) =>
          sel !== null && sel.conversation.id === id
            ? { ...sel, status: state.status, assigneeID: state.assigneeID, awaitingReply: state.awaitingReply }
            : sel,
        );
        refresh();
      } catch (e) {
        fail(e);
      }
    },
    [refresh, fail],
  );

  const loadMore = useCallback(async () => {
    const cursor = list.nextCursor;
    if (cursor === null) return;
    const key = listKey;
    const base = VIEWS.find((v) => v.id === view)!.query;
    const q = query.trim();
    try {
      const page = await agent.inbox(q === '' ? { ...base, limit: 50, cursor } : { q, limit: 50, cursor });
      if (listKeyRef.current !== key) return;
      setList((prev) => {
        const have = new Set(prev.items.map((i) => i.conversation.id));
        return {
          ...prev,
          items: [...prev.items, ...page.data.filter((i) => !have.has(i.conversation.id))],
          nextCursor: page.nextCursor,
        };
      });
    } catch (e) {
      fail(e);
    }
  }, [list.nextCursor, listKey, fail]);

  // Keyboard: j/k move, e closes, a assigns to me, / searches, r replies; Escape leaves a field.
  const stateRef = useRef({ list, selected });
  stateRef.current = { list, selected };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (typingInField(e.target)) {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      const { list: l, selected: sel } = stateRef.current;
      const at = sel === null ? -1 : l.items.findIndex((i) => i.conversation.id === sel.conversation.id);
      switch (e.key) {
        case 'j':
        case 'k': {
          const next = l.items[e.key === 'j' ? Math.min(at + 1, l.items.length - 1) : Math.max(at - 1, 0)];
          if (next !== undefined) {
            open(next);
            document.getElementById(`row-${next.conversation.id}`)?.focus();
          }
          break;
        }
        case 'e':
          if (sel?.status === 'open') void act('close', sel);
          break;
        case 'a':
          if (sel !== null) void act('assign', sel);
          break;
        case '/':
          searchRef.current?.focus();
          break;
        case 'r':
          replyRef.current?.focus();
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, act]);

  const signOut = async () => {
    try {
      await agent.signOut();
    } finally {
      props.onSignedOut();
    }
  };

  const searching = query.trim() !== '';
  const current = VIEWS.find((v) => v.id === view)!;
  return (
    <div class="shell">
      <nav class="rail" aria-label="Views">
        <div class="brand" aria-hidden="true">
          <span class="logo">C</span> Concierge
        </div>
        <ul class="views">
          {VIEWS.map((v) => (
            <li key={v.id}>
              <button
                type="button"
                class="view"
                aria-current={!searching && v.id === view ? 'page' : undefined}
                onClick={() => {
                  setQuery('');
                  setView(v.id);
                }}
              >
                <span>{v.label}</span>
                <span class="count">
                  {counts === null ? '·' : counts[v.count]}
                  <span class="visually-hidden"> conversations</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
        <ul class="rail-links">
          {me.role === 'admin' && (
            <li>
              <button
                type="button"
                class="view"
                aria-current={panel === 'team' ? 'page' : undefined}
                onClick={() => setPanel('team')}
              >
                Team
              </button>
            </li>
          )}
          <li>
            <button
              type="button"
              class="view"
              aria-current={panel === 'sessions' ? 'page' : undefined}
              onClick={() => setPanel('sessions')}
            >
              Sessions
            </button>
          </li>
        </ul>
        <div class="me">
          {props.orgs.length > 1 && (
            <>
              <label for="org" class="me-email">
                Organisation
              </label>
              <select
                id="org"
                class="org-switch"
                value={me.orgID}
                onChange={(e) => void props.onSwitchOrg((e.target as HTMLSelectElement).value).catch(fail)}
              >
                {props.orgs.map((o) => (
                  <option key={o.orgID} value={o.orgID}>
                    {o.orgName}
                  </option>
                ))}
              </select>
            </>
          )}
          <div class="me-name">{me.name}</div>
          <div class="me-email">{me.email}</div>
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <section class="inbox" aria-label="Inbox">
        <div class="inbox-head">
          <form role="search" onSubmit={(e) => e.preventDefault()}>
            <label for="search" class="visually-hidden">
              Search conversations
            </label>
            <input
              id="search"
              ref={searchRef}
              type="search"
              placeholder="Search  /"
              value={query}
              onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
            />
          </form>
          <h1 class="inbox-title">{searching ? 'Search results' : current.label}</h1>
        </div>
        {status === 'reconnecting' && (
          <div class="banner" role="status">
            Reconnecting…
          </div>
        )}
        {error !== null && (
          <div class="banner error" role="alert">
            {error}{' '}
            <button type="button" class="link" onClick={() => setError(null)}>
              Dismiss
            </button>
          </div>
        )}
        <InboxList
          items={list.items}
          loading={list.loading}
          hasMore={list.nextCursor !== null}
          selectedID={selected?.conversation.id ?? null}
          unread={unread}
          me={me}
          team={team}
          onOpen={open}
          onMore={() => void loadMore()}
          label={searching ? 'Search results' : current.label}
        />
      </section>
      <main
        class="thread-pane"
        aria-label={panel === 'thread' ? 'Conversation' : panel === 'team' ? 'Team' : 'Sessions'}
      >
        {panel === 'team' ? (
          <TeamPanel me={me} onError={fail} onChanged={loadTeam} />
        ) : panel === 'sessions' ? (
          <SessionsPanel me={me} onError={fail} onSignedOut={props.onSignedOut} />
        ) : selected === null ? (
          <div class="empty">
            <p>Select a conversation</p>
            <p class="hint">
              <kbd>j</kbd> <kbd>k</kbd> move · <kbd>a</kbd> assign to me · <kbd>e</kbd> close · <kbd>r</kbd> reply ·{' '}
              <kbd>/</kbd> search
            </p>
          </div>
        ) : (
          <Thread
            key={selected.conversation.id}
            item={selected}
            me={me}
            team={team}
            live={live}
            replyRef={replyRef}
            onAct={(what) => void act(what, selected)}
            onError={fail}
          />
        )}
      </main>
      {panel === 'thread' && selected !== null && <MemberPanel item={selected} me={me} team={team} />}
    </div>
  );
}

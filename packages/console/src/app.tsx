import type { Agent, AgentOrg, InboxCounts, InboxItem, InboxPage, Teammate } from '@concierge/sdk/agent';
import { RefreshError, UnauthorizedError } from '@concierge/sdk/agent';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { agent } from './client.js';
import { findConversation } from './find-conversation.js';
import { InboxList } from './inbox-list.js';
import { LiveEvents } from './live.js';
import { MemberPanel } from './member-panel.js';
import { Rail } from './rail.js';
import { useRoute } from './route.js';
import { SessionsPanel } from './sessions.js';
import { TeamPanel } from './team.js';
import { Thread } from './thread.js';
import { useMedia } from './use-media.js';
import { VIEWS } from './views.js';

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
  const [route, go] = useRoute();
  const { view, q: query } = route;
  const panel = route.panel;
  const [counts, setCounts] = useState<InboxCounts | null>(null);
  const [list, setList] = useState<ListState>({ items: [], nextCursor: null, loading: true });
  const [selected, setSelected] = useState<InboxItem | null>(null);
  const [team, setTeam] = useState<ReadonlyMap<string, Teammate>>(new Map());
  const [unread, setUnread] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  /** The link's conversation could not be found (another org's, or none): said in the pane instead. */
  const [missing, setMissing] = useState<string | null>(null);
  // The member panel: beside the thread on a wide screen unless closed, opened on demand on a narrower one.
  const wide = useMedia('(min-width: 1101px)');
  const phone = useMedia('(max-width: 767px)');
  const [memberPref, setMemberPref] = useState<boolean | null>(null);
  const memberOpen = memberPref ?? wide;
  const wideRef = useRef(wide);
  wideRef.current = wide;
  /** A conversation opened on a narrow screen shows its thread first, whatever the last one showed. */
  const threadFirst = useCallback(() => {
    if (!wideRef.current) setMemberPref(null);
  }, []);
  const searchRef = useRef<HTMLInputElement>(null);
  const memberToggleRef = useRef<HTMLButtonElement>(null);
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

  const markOpened = useCallback((id: string) => {
    setUnread((u) => {
      if (!u.has(id)) return u;
      const next = new Set(u);
      next.delete(id);
      return next;
    });
  }, []);

  const routeRef = useRef(route);
  routeRef.current = route;
  const open = useCallback(
    (item: InboxItem) => {
      const id = item.conversation.id;
      if (selectedRef.current?.conversation.id !== id) threadFirst();
      setSelected(item);
      markOpened(id);
      go({ ...routeRef.current, panel: 'inbox', conversationID: id, member: item.conversation.externalUserID });
    },
    [go, markOpened, threadFirst],
  );

  // The URL names the conversation (a reload, Back, a pasted link): show it, from the list when it is there.
  const listRef = useRef(list);
  listRef.current = list;
  useEffect(() => {
    const id = route.conversationID;
    setMissing(null);
    if (id === null) {
      setSelected(null);
      return;
    }
    if (selectedRef.current?.conversation.id === id) return;
    threadFirst();
    const listed = listRef.current.items.find((i) => i.conversation.id === id);
    if (listed !== undefined) {
      setSelected(listed);
      markOpened(id);
      return;
    }
    setSelected(null);
    let stale = false;
    findConversation(id).then(
      (item) => {
        if (stale) return;
        if (item === null) setMissing(id);
        else {
          setSelected(item);
          markOpened(id);
        }
      },
      (e: unknown) => {
        if (!stale) fail(e);
      },
    );
    return () => {
      stale = true;
    };
  }, [route.conversationID, route.member]);

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
  const toList = () => go({ ...route, panel: 'inbox', conversationID: null, member: null });
  const showMember = panel === 'inbox' && selected !== null && memberOpen;
  // On a phone one pane shows at a time (styles: `.shell[data-screen]`); wider screens show them side by side.
  const screen =
    panel !== 'inbox' ? 'panel' : route.conversationID === null ? 'list' : showMember ? 'member' : 'thread';
  // On a phone the member panel is a screen of the main pane (the thread stays mounted, hidden, keeping its state);
  // wider, it is the page's complementary column.
  const memberPanel = showMember && (
    <MemberPanel
      item={selected}
      me={me}
      team={team}
      inline={phone}
      modal={!wide}
      onClose={() => {
        setMemberPref(false);
        memberToggleRef.current?.focus();
      }}
    />
  );
  // A phone swaps whole screens: the focus follows, to the new screen's title or back to the row that was open.
  const lastOpened = useRef<string | null>(null);
  useEffect(() => {
    if (!phone) return;
    if (screen === 'list') {
      if (lastOpened.current !== null) document.getElementById(`row-${lastOpened.current}`)?.focus();
    } else if (screen !== 'member') document.getElementById('pane-title')?.focus();
  }, [screen, phone]);
  lastOpened.current = route.conversationID ?? lastOpened.current;
  const paneTitle =
    panel === 'team'
      ? 'Team'
      : panel === 'sessions'
        ? 'Sessions'
        : screen === 'member'
          ? 'Member details'
          : 'Conversation';
  return (
    <div class="shell" data-screen={screen}>
      <Rail
        me={me}
        orgs={props.orgs}
        counts={counts}
        current={!searching && panel === 'inbox' ? view : null}
        panel={panel}
        onView={(id) => go({ ...route, panel: 'inbox', view: id, q: '' })}
        onPanel={(p) => go({ ...route, panel: p })}
        onSwitchOrg={(orgID) => void props.onSwitchOrg(orgID).catch(fail)}
        onSignOut={() => void signOut()}
      />
      {/* On a phone's list screen the list is the page's main content: the conversation pane is hidden. */}
      <section class="inbox" aria-label="Inbox" role={phone && screen === 'list' ? 'main' : undefined}>
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
              onInput={(e) => {
                const q = (e.target as HTMLInputElement).value;
                // One history entry per search, not one per keystroke.
                go({ ...routeRef.current, q }, routeRef.current.q === '' ? 'push' : 'replace');
              }}
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
        aria-label={panel === 'inbox' ? 'Conversation' : panel === 'team' ? 'Team' : 'Sessions'}
      >
        {(screen !== 'list' || selected !== null) && (
          <div class="pane-bar">
            {phone && (
              <h1 id="pane-title" class="visually-hidden" tabIndex={-1}>
                {paneTitle}
              </h1>
            )}
            <button
              type="button"
              class="btn back"
              aria-label={`Back to ${searching ? 'Search results' : current.label}`}
              onClick={toList}
            >
              <span aria-hidden="true">‹ </span>
              {searching ? 'Search results' : current.label}
            </button>
            {panel === 'inbox' && selected !== null && (
              <button
                type="button"
                class="btn member-toggle"
                aria-expanded={memberOpen}
                aria-controls="member-panel"
                ref={memberToggleRef}
                onClick={() => setMemberPref(!memberOpen)}
              >
                Member details
              </button>
            )}
          </div>
        )}
        {panel === 'team' ? (
          <TeamPanel me={me} onError={fail} onChanged={loadTeam} />
        ) : panel === 'sessions' ? (
          <SessionsPanel me={me} onError={fail} onSignedOut={props.onSignedOut} />
        ) : missing !== null ? (
          <div class="empty" role="alert">
            <p>This conversation cannot be opened here.</p>
            <p class="hint">It is not in this organisation, or it no longer exists.</p>
            <button type="button" class="btn" onClick={toList}>
              Back to the inbox
            </button>
          </div>
        ) : selected === null && route.conversationID !== null ? (
          <p class="list-empty" role="status">
            Loading…
          </p>
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
        {phone && memberPanel}
      </main>
      {!phone && memberPanel}
    </div>
  );
}

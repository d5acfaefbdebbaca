import type { Agent, AgentStreamEvent, InboxItem, Message, Note, Teammate } from '@concierge/sdk/agent';
import { APIError, ConflictError, RefreshError, UnauthorizedError } from '@concierge/sdk/agent';
import type { RefObject } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { agent } from './client.js';
import { Composer, useDraft } from './composer.js';
import { draftsOf, type Drafts, type UnsentEntry } from './drafts.js';
import { agentName, fullTime, memberName, shortTime } from './format.js';
import type { LiveEvents } from './live.js';

/**
 * A reply or note on its way: kept in the thread until the server has it. A failure a retry may fix is kept in the
 * conversation's drafts (drafts.ts), marked, with Retry; a text the server refused goes back to the composer.
 */
interface Pending {
  localID: string;
  body: string;
  /** The Idempotency-Key of this send, reused by Retry so a send that did land is never posted twice. */
  key: string;
  note: boolean;
  /**
   * The stream already brought a message of ours with this text while the send was waiting for its answer: it is
   * shown once, as that message. Should the answer then fail, the entry comes back marked (Retry is harmless: the
   * key makes the server replay the stored send).
   */
  echoed?: boolean;
}

/** The server refused the text itself (too long, …) or the conversation: sending it again unchanged cannot work. */
function refused(e: unknown): boolean {
  return e instanceof APIError && !e.retryable && !(e instanceof UnauthorizedError) && !(e instanceof ConflictError);
}

/** Puts `body` back in the composer, above whatever the agent typed since. */
function restore(drafts: Drafts, id: string, body: string, note: boolean, error: string | null): void {
  drafts.update(id, (d) => ({
    ...d,
    body: d.body.trim() === '' ? body : `${body}\n\n${d.body}`,
    note,
    error,
  }));
}

type Entry = { kind: 'message'; at: string; message: Message } | { kind: 'note'; at: string; note: Note };

/** How long a member's typing event shows (they repeat it at most once a second while typing). */
const TYPING_SHOWN_MS = 5000;
const PAGE = 50;

function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function addUnique<T extends { id: string }>(list: T[], item: T): T[] {
  return list.some((x) => x.id === item.id) ? list : [...list, item];
}

export interface ThreadProps {
  item: InboxItem;
  me: Agent;
  team: ReadonlyMap<string, Teammate>;
  live: LiveEvents;
  replyRef: RefObject<HTMLTextAreaElement>;
  onAct: (what: 'assign' | 'unassign' | 'close' | 'reopen') => void;
  onError: (error: unknown) => void;
}

export function Thread(props: ThreadProps) {
  const { item, me } = props;
  const id = item.conversation.id;
  const name = memberName(item.member);
  const [messages, setMessages] = useState<Message[]>([]);
  const [notes, setNotes] = useState<Note[]>([]);
  const [pending, setPending] = useState<Pending[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [typingUntil, setTypingUntil] = useState(0);
  const [seenID, setSeenID] = useState<string | null>(null);
  const drafts = draftsOf(me);
  const unsent = useDraft(drafts, id).unsent;
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const restoreFrom = useRef<number | null>(null);
  const lastTyping = useRef(0);
  const lastMarked = useRef<string | null>(null);

  // Live events for this conversation. Until the first page is in, they wait in `buffer`: the page is read after
  // the stream was open, so page + buffered events hold everything, and ids drop what both carry.
  const buffer = useRef<AgentStreamEvent[] | null>([]);
  const apply = useCallback((event: AgentStreamEvent) => {
    switch (event.type) {
      case 'message': {
        const message = event.data.message;
        setMessages((ms) => addUnique(ms, message));
        if (message.type === 'member') setTypingUntil(0);
        else if (message.authorID === props.me.id)
          setPending((ps) => {
            const at = ps.findIndex((p) => !p.note && !p.echoed && p.body === message.body);
            return at < 0 ? ps : ps.map((p, i) => (i === at ? { ...p, echoed: true } : p));
          });
        break;
      }
      case 'note': {
        const note = event.data.note;
        setNotes((ns) => addUnique(ns, note));
        if (note.authorID === props.me.id)
          setPending((ps) => {
            const at = ps.findIndex((p) => p.note && !p.echoed && p.body === note.body);
            return at < 0 ? ps : ps.map((p, i) => (i === at ? { ...p, echoed: true } : p));
          });
        break;
      }
      case 'typing':
        if (event.data.typist === 'member') setTypingUntil(Date.now() + TYPING_SHOWN_MS);
        break;
      case 'read':
        if (event.data.reader === 'member') setSeenID(event.data.messageID);
        break;
      default:
        break;
    }
  }, []);

  useEffect(
    () =>
      props.live.subscribe((event) => {
        const about =
          event.type === 'conversation'
            ? event.data.conversation.id
            : event.type === 'conversation.updated'
              ? event.data.conversationID
              : event.data.conversationID;
        if (about !== id) return;
        if (buffer.current !== null) buffer.current.push(event);
        else apply(event);
      }),
    [id],
  );

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const [page, notePage] = await Promise.all([
          agent.listMessages({ conversationID: id, externalUserID: item.member.externalUserID, limit: PAGE }),
          agent.listNotes({ conversationID: id, limit: 100 }),
        ]);
        if (cancelled) return;
        setMessages(page.messages.slice().reverse());
        setNotes(notePage.notes.slice().reverse());
        setCursor(page.nextCursor);
        setLoaded(true);
        const held = buffer.current ?? [];
        buffer.current = null;
        for (const event of held) apply(event);
      } catch (e) {
        props.onError(e);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [id]);

  // Older history when the agent scrolls to the top, through the page cursor; the view stays where it was.
  const loadOlder = useCallback(async () => {
    if (cursor === null || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const page = await agent.listMessages({
        conversationID: id,
        externalUserID: item.member.externalUserID,
        limit: PAGE,
        cursor,
      });
      restoreFrom.current = scrollRef.current?.scrollHeight ?? null;
      setMessages((ms) => {
        const have = new Set(ms.map((m) => m.id));
        return [...page.messages.filter((m) => !have.has(m.id)).reverse(), ...ms];
      });
      setCursor(page.nextCursor);
    } catch (e) {
      props.onError(e);
    } finally {
      setLoadingOlder(false);
    }
  }, [cursor, loadingOlder, id]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (el === null) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    if (el.scrollTop < 48) void loadOlder();
  };

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el === null) return;
    if (restoreFrom.current !== null) {
      el.scrollTop += el.scrollHeight - restoreFrom.current;
      restoreFrom.current = null;
    } else if (stick.current) el.scrollTop = el.scrollHeight;
  }, [messages, notes, pending, typingUntil, loaded]);

  // The typing line goes away on its own once the member stops.
  useEffect(() => {
    if (typingUntil === 0) return;
    const timer = setTimeout(() => setTypingUntil(0), Math.max(0, typingUntil - Date.now()));
    return () => clearTimeout(timer);
  }, [typingUntil]);

  // The agent has read what the member wrote: move this agent's read mark to the newest member message.
  useEffect(() => {
    const newest = messages.length > 0 ? messages[messages.length - 1]! : null;
    if (newest === null || newest.type !== 'member' || newest.id === lastMarked.current || document.hidden) return;
    lastMarked.current = newest.id;
    agent.markRead({ conversationID: id, messageID: newest.id }).catch(() => {
      // A read mark is a courtesy: the next message moves it again.
    });
  }, [messages]);

  // The send outlives the thread on screen: its failure is kept in the drafts even after the agent moved on.
  const send = async (p: Pending) => {
    stick.current = true;
    drafts.update(id, (d) => ({ ...d, unsent: d.unsent.filter((u) => u.localID !== p.localID) }));
    setPending((ps) => [...ps.filter((x) => x.localID !== p.localID), { ...p, echoed: false }]);
    try {
      if (p.note) {
        const note = await agent.addNote({ conversationID: id, body: p.body }, { idempotencyKey: p.key });
        setNotes((ns) => addUnique(ns, note));
      } else {
        const sent = await agent.sendMessage({ conversationID: id, message: p.body }, { idempotencyKey: p.key });
        setMessages((ms) => addUnique(ms, sent.message));
      }
    } catch (e) {
      if (e instanceof RefreshError) props.onError(e);
      const error = e instanceof Error ? e.message : String(e);
      if (refused(e)) restore(drafts, id, p.body, p.note, error);
      else {
        const entry: UnsentEntry = { localID: p.localID, body: p.body, key: p.key, note: p.note, error };
        drafts.update(id, (d) => ({ ...d, unsent: [...d.unsent, entry] }));
      }
    } finally {
      setPending((ps) => ps.filter((x) => x.localID !== p.localID));
    }
  };

  const typing = () => {
    const now = Date.now();
    if (now - lastTyping.current > 2000) {
      lastTyping.current = now;
      agent.typing({ conversationID: id }).catch(() => {
        // Typing is best effort.
      });
    }
  };

  // One timeline, oldest first: messages in the server's order, notes placed by time. While older history is
  // still to load, notes older than the oldest shown message wait for it.
  const oldest = messages[0]?.createdAt ?? null;
  const shownNotes = cursor === null || oldest === null ? notes : notes.filter((n) => n.createdAt >= oldest);
  const entries: Entry[] = [];
  let n = 0;
  for (const m of messages) {
    while (n < shownNotes.length && shownNotes[n]!.createdAt <= m.createdAt)
      entries.push({ kind: 'note', at: shownNotes[n]!.createdAt, note: shownNotes[n++]! });
    entries.push({ kind: 'message', at: m.createdAt, message: m });
  }
  for (; n < shownNotes.length; n++) entries.push({ kind: 'note', at: shownNotes[n]!.createdAt, note: shownNotes[n]! });

  // "Seen": under the newest team message at or before the member's read mark.
  const seenAt = seenID === null ? -1 : messages.findIndex((m) => m.id === seenID);
  let seenMessage: string | null = null;
  for (let i = seenAt; i >= 0; i--)
    if (messages[i]!.type !== 'member') {
      seenMessage = messages[i]!.id;
      break;
    }

  const assignedToMe = item.assigneeID === me.id;
  return (
    <div class="thread">
      <header class="thread-head">
        <div class="thread-who">
          <h2 class="thread-name">{name}</h2>
          <span class="thread-title">{item.conversation.title ?? 'Conversation'}</span>
        </div>
        <div class="actions" role="group" aria-label="Conversation actions">
          <span class="state" aria-live="polite">
            {item.status === 'closed' ? 'Closed' : 'Open'} · {agentName(item.assigneeID, me, props.team)}
          </span>
          {assignedToMe ? (
            <button type="button" class="btn" onClick={() => props.onAct('unassign')}>
              Unassign
            </button>
          ) : (
            <button type="button" class="btn" aria-keyshortcuts="a" onClick={() => props.onAct('assign')}>
              Assign to me
            </button>
          )}
          {item.status === 'open' ? (
            <button type="button" class="btn primary" aria-keyshortcuts="e" onClick={() => props.onAct('close')}>
              Close
            </button>
          ) : (
            <button type="button" class="btn" onClick={() => props.onAct('reopen')}>
              Reopen
            </button>
          )}
        </div>
      </header>
      <div
        class="timeline"
        role="log"
        ref={scrollRef}
        onScroll={onScroll}
        tabIndex={0}
        aria-label={`Messages with ${name}`}
      >
        {cursor !== null && (
          <button type="button" class="older" onClick={() => void loadOlder()} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        {!loaded && <p class="list-empty">Loading…</p>}
        <ol class="entries" aria-label="Messages">
          {entries.map((e) =>
            e.kind === 'note' ? (
              <li key={e.note.id} class="entry note" data-note={e.note.id}>
                <div class="note-head">
                  Internal note · {agentName(e.note.authorID, me, props.team)} ·{' '}
                  <time dateTime={e.at}>{shortTime(e.at)}</time>
                </div>
                <div class="body" dir="auto">
                  {e.note.body}
                </div>
              </li>
            ) : (
              <li
                key={e.message.id}
                class={`entry msg ${e.message.type === 'member' ? 'theirs' : e.message.type === 'system' ? 'system' : 'ours'}`}
                data-message={e.message.id}
              >
                <div class="bubble">
                  <div class="body" dir="auto">
                    {e.message.body ?? ''}
                  </div>
                </div>
                <div class="meta">
                  {e.message.type === 'member' ? name : agentName(e.message.authorID, me, props.team)} ·{' '}
                  <time dateTime={e.at} title={fullTime(e.at)}>
                    {shortTime(e.at)}
                  </time>
                  {seenMessage === e.message.id && <span class="seen"> · Seen</span>}
                </div>
              </li>
            ),
          )}
          {pending
            .filter((p) => p.echoed !== true)
            .map((p) => (
              <li key={p.localID} class={`entry ${p.note ? 'note' : 'msg ours'} pending sending`}>
                {p.note ? <div class="note-head">Internal note · You</div> : null}
                <div class={p.note ? 'body' : 'bubble'} dir="auto">
                  {p.note ? p.body : <div class="body">{p.body}</div>}
                </div>
                <div class="meta">Sending…</div>
              </li>
            ))}
          {unsent.map((u) => (
            <li key={u.localID} class={`entry ${u.note ? 'note' : 'msg ours'} pending failed`}>
              {u.note ? <div class="note-head">Internal note · You</div> : null}
              <div class={u.note ? 'body' : 'bubble'} dir="auto">
                {u.note ? u.body : <div class="body">{u.body}</div>}
              </div>
              <div class="meta">
                <span role="alert">Not sent ({u.error}). </span>
                <button type="button" class="link" onClick={() => void send(u)}>
                  Retry
                </button>{' '}
                ·{' '}
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    drafts.update(id, (d) => ({ ...d, unsent: d.unsent.filter((x) => x.localID !== u.localID) }));
                    restore(drafts, id, u.body, u.note, null);
                  }}
                >
                  Edit
                </button>{' '}
                ·{' '}
                <button
                  type="button"
                  class="link"
                  onClick={() =>
                    drafts.update(id, (d) => ({ ...d, unsent: d.unsent.filter((x) => x.localID !== u.localID) }))
                  }
                >
                  Discard
                </button>
              </div>
            </li>
          ))}
        </ol>
        {typingUntil > 0 && (
          <p class="typing" role="status">
            {name} is typing…
          </p>
        )}
      </div>
      <Composer
        conversationID={id}
        memberName={name}
        drafts={drafts}
        replyRef={props.replyRef}
        onTyping={typing}
        onSend={(body, note) => void send({ localID: newKey(), body, key: newKey(), note })}
      />
    </div>
  );
}

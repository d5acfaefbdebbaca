import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { agent } from './client.js';
import type { Draft, Drafts } from './drafts.js';
import './composer.css';

/** The draft of one conversation, re-read whenever any draft changes (another tab, a send failing later). */
export function useDraft(drafts: Drafts, conversationID: string): Draft {
  const [draft, setDraft] = useState(() => drafts.get(conversationID));
  useEffect(() => {
    setDraft(drafts.get(conversationID));
    return drafts.subscribe(() => setDraft(drafts.get(conversationID)));
  }, [drafts, conversationID]);
  return draft;
}

/** The counter shows from this share of the limit on: far from it, it would only be noise. */
const COUNTER_FROM = 0.8;

/** Characters as the server counts them (code points), of the text that would be sent (trimmed). */
export function length(body: string): number {
  return [...body.trim()].length;
}

export interface ComposerProps {
  conversationID: string;
  memberName: string;
  drafts: Drafts;
  replyRef: RefObject<HTMLTextAreaElement>;
  onSend: (body: string, note: boolean) => void;
  onTyping: () => void;
}

/**
 * The reply box. Its text is the conversation's draft (drafts.ts), saved as it is typed; the server's limit
 * (`limits.maxMessageChars` of the sign-in answer) is counted as the agent nears it, and a text over it is not sent.
 * A text the server refused comes back here with the reason, until it is sent or discarded.
 */
export function Composer(props: ComposerProps) {
  const { conversationID: id, drafts } = props;
  const draft = useDraft(drafts, id);
  const limit = agent.limits?.maxMessageChars ?? null;
  const chars = length(draft.body);
  const over = limit !== null && chars > limit;
  const counted = limit !== null && chars >= Math.floor(limit * COUNTER_FROM);
  const mode = draft.note ? 'note' : 'reply';

  const submit = () => {
    const body = draft.body.trim();
    if (body === '' || over) return;
    drafts.update(id, (d) => ({ ...d, body: '', error: null }));
    props.onSend(body, draft.note);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // Enter sends; Shift+Enter is a newline; an IME composition's Enter confirms the composition.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const onInput = (value: string) => {
    drafts.update(id, (d) => ({ ...d, body: value }));
    if (!draft.note && value !== '') props.onTyping();
  };

  const setNote = (note: boolean) => drafts.update(id, (d) => ({ ...d, note }));
  const statusID = `composer-status-${id}`;
  return (
    <form
      class={`composer ${mode}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div class="modes" role="radiogroup" aria-label="Compose">
        <label class={mode === 'reply' ? 'on' : ''}>
          <input type="radio" name="mode" checked={mode === 'reply'} onChange={() => setNote(false)} /> Reply
        </label>
        <label class={mode === 'note' ? 'on' : ''}>
          <input type="radio" name="mode" checked={mode === 'note'} onChange={() => setNote(true)} /> Internal note
        </label>
      </div>
      <label for="reply" class="visually-hidden">
        {mode === 'reply' ? `Reply to ${props.memberName}` : 'Internal note (only the team sees it)'}
      </label>
      <textarea
        id="reply"
        ref={props.replyRef}
        rows={3}
        dir="auto"
        value={draft.body}
        aria-invalid={over || draft.error !== null ? 'true' : undefined}
        aria-describedby={statusID}
        placeholder={
          mode === 'reply'
            ? `Reply to ${props.memberName} — Enter sends, Shift+Enter for a new line`
            : 'Internal note — only the team sees it'
        }
        onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" class="btn primary send" aria-disabled={over ? 'true' : undefined}>
        {mode === 'reply' ? 'Send' : 'Add note'}
      </button>
      <div class="composer-status" id={statusID}>
        {draft.error !== null && (
          <span class="composer-refused" role="alert">
            Not sent: {draft.error}. Edit it and send again, or{' '}
            <button
              type="button"
              class="link"
              onClick={() => drafts.update(id, (d) => ({ ...d, body: '', error: null }))}
            >
              Discard
            </button>
          </span>
        )}
        {counted && limit !== null && (
          <span class={`counter${over ? ' over' : ''}`}>
            {over ? `${chars - limit} characters over the limit of ${limit}` : `${chars} / ${limit} characters`}
          </span>
        )}
      </div>
    </form>
  );
}

import type { Agent } from '@concierge/sdk/agent';
import { useEffect, useState } from 'preact/hooks';
import { draftsOf, holdsText } from './drafts.js';
import './composer.css';

/** The inbox row's mark for a conversation that holds a draft or an unsent reply of this agent's. */
export function DraftMark(props: { me: Agent; conversationID: string }) {
  const drafts = draftsOf(props.me);
  const held = () => holdsText(drafts.get(props.conversationID));
  const [shown, setShown] = useState(held);
  useEffect(() => {
    setShown(held());
    return drafts.subscribe(() => setShown(held()));
  }, [drafts, props.conversationID]);
  return shown ? <span class="tag draft">Draft</span> : null;
}

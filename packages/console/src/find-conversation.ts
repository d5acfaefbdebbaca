import type { InboxItem } from '@concierge/sdk/agent';
import { ValidationError } from '@concierge/sdk/agent';
import { agent } from './client.js';

/** How far a link's conversation is looked for before the console says it cannot be opened. */
const PAGES = 5;

/**
 * The inbox row of a conversation a link names. Agents reach a conversation through the inbox, which has no
 * filter by conversation id: the link carries its member's id, a search for it lists that member's conversations
 * first (a match in the member's id ranks above message text), and the row is among them. Without a member id, or
 * when the search misses it, the newest conversations are read instead. `null`: not in this org, as far as the
 * agent can see.
 */
export async function findConversation(conversationID: string, member: string | null): Promise<InboxItem | null> {
  const walks = [
    ...(member !== null && member.trim() !== '' ? [{ q: member.slice(0, 200), limit: 100 }] : []),
    { limit: 100 },
  ];
  for (const query of walks) {
    let pages = 0;
    try {
      for await (const page of agent.inbox(query).pages()) {
        const hit = page.data.find((i) => i.conversation.id === conversationID);
        if (hit !== undefined) return hit;
        if (++pages >= PAGES) break;
      }
    } catch (e) {
      // An id the search cannot take as words: the newest conversations are still read.
      if (!(e instanceof ValidationError)) throw e;
    }
  }
  return null;
}

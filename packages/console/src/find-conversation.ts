import type { InboxItem } from '@concierge/sdk/agent';
import { NotFoundError } from '@concierge/sdk/agent';
import { agent } from './client.js';

/**
 * The inbox row of a conversation a link names, read by its id (`GET /v1/inbox/{id}`), however old it is. `null`:
 * not a conversation of this org.
 */
export async function findConversation(conversationID: string): Promise<InboxItem | null> {
  try {
    return await agent.inboxItem({ conversationID });
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

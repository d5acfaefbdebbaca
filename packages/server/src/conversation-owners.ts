import type { Store } from '@concierge/store';

export interface ConversationOwner {
  id: string;
  orgID: string;
  memberID: string;
}

const MAX_CACHED = 100_000;

/**
 * Which org and member a conversation belongs to: asked on every send, page read and stream open, and never
 * changing for the life of a conversation, so it is cached (a JOIN per request was 18% of the send path). The only
 * way a conversation goes away is its member's removal; that signal reaches every instance (the store's ephemeral
 * `revoked … deleted`) and clears the cache, and a write to a vanished conversation is refused by the store anyway.
 */
export class ConversationOwners {
  private readonly cache = new Map<string, ConversationOwner>();

  constructor(private readonly store: Store) {
    store.onEphemeral((m) => {
      if (m.kind === 'revoked' && m.deleted) this.cache.clear();
    });
  }

  async get(orgID: string, conversationID: string): Promise<ConversationOwner | null> {
    const hit = this.cache.get(conversationID);
    if (hit !== undefined) return hit.orgID === orgID ? hit : null;
    const row = await this.store.getConversation(orgID, conversationID);
    if (row === null) return null;
    const owner = { id: row.id, orgID: row.orgID, memberID: row.memberID };
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(conversationID, owner);
    return owner;
  }
}

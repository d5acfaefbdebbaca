import type { Conversation, Member, Message } from '@concierge/protocol';
import type { ConversationRecord, MemberRecord, MessageRecord } from '@concierge/store';

/**
 * Storage records → wire shapes. Key order and nullability follow the contract; these are the only places a
 * wire object is built, so `listMessages`, the send reply and the SSE `data:` are the same bytes for a message.
 */
export function renderMessage(m: MessageRecord): Message {
  return { id: m.id, type: m.type, authorID: m.authorID, body: m.body, createdAt: m.createdAt };
}

export function renderConversation(c: ConversationRecord): Conversation & { externalUserID: string } {
  return {
    id: c.id,
    type: c.type,
    title: c.title,
    lastMessageAt: c.lastMessageAt,
    unreadCount: c.unreadCount,
    externalUserID: c.externalUserID,
  };
}

export function renderMember(m: MemberRecord): Member {
  return {
    externalUserID: m.externalUserID,
    displayName: m.displayName,
    email: m.email,
    tier: m.tier,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

export const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

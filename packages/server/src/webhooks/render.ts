import type { WebhookEvent } from '@concierge/protocol';
import type { ConversationRecord, ConversationState, MessageRecord, WebhookDeliveryRecord } from '@concierge/store';
import { renderConversation, renderMessage } from '../render.js';

/**
 * A delivery's body: `{"type", "timestamp", "data"}`, `data` being what the API shows for the object (the same
 * payload as the `GET /v1/stream` event), built from the storage data the outbox kept with only the fields the API
 * shows, so nothing internal reaches a receiver. Built from the stored row alone, so every attempt sends the same
 * bytes.
 */
export function webhookBody(d: Pick<WebhookDeliveryRecord, 'eventType' | 'data' | 'createdAt'>): string {
  const stored = JSON.parse(d.data) as Record<string, unknown>;
  return JSON.stringify({ type: d.eventType, timestamp: d.createdAt, data: webhookData(d.eventType, stored) });
}

function webhookData(type: string, stored: Record<string, unknown>): WebhookEvent['data'] | Record<string, never> {
  switch (type) {
    case 'conversation.message_created': {
      const m = stored as unknown as MessageRecord;
      return { conversationID: m.conversationID, message: renderMessage(m) };
    }
    case 'conversation.created': {
      const c = stored as unknown as ConversationRecord;
      return { conversation: renderConversation(c), externalUserID: c.externalUserID };
    }
    case 'conversation.read':
      return {
        conversationID: stored.conversationID as string,
        reader: stored.reader as 'member' | 'concierge',
        readerID: stored.readerID as string,
        messageID: stored.messageID as string,
        readAt: stored.readAt as string,
      };
    case 'conversation.updated': {
      // The team's state of the conversation, as the org's stream shows it (`conversation.updated`).
      const st = stored as unknown as ConversationState;
      return {
        conversationID: st.conversationID,
        status: st.status,
        assigneeID: st.assigneeID,
        awaitingReply: st.awaitingReply,
        updatedAt: st.updatedAt,
        updatedBy: st.updatedBy,
      };
    }
    case 'member.deleted':
      return { externalUserID: stored.externalUserID as string, deletedAt: stored.deletedAt as string };
    case 'webhook.test':
      return { endpointID: stored.endpointID as string };
    default:
      // A type this build does not know (written by a newer instance): nothing of its data is shown.
      return {};
  }
}

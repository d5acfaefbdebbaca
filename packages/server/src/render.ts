import type {
  Agent,
  AgentSession,
  Conversation,
  InboxItem,
  Member,
  Message,
  Note,
  Teammate,
  WebhookDelivery,
  WebhookEndpoint,
} from '@concierge/protocol';
import type {
  AgentRecord,
  AgentSessionRecord,
  ConversationRecord,
  InboxRow,
  MemberRecord,
  MessageRecord,
  NoteRecord,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
} from '@concierge/store';

/**
 * Storage records → wire shapes. Key order and nullability follow the contract; these are the only places a
 * wire object is built, so `listMessages`, the send reply and the SSE `data:` are the same bytes for a message.
 */
export function renderMessage(m: MessageRecord): Message {
  return { id: m.id, type: m.type, authorID: m.authorID, body: m.body, createdAt: m.createdAt };
}

export function renderConversation(c: ConversationRecord): Conversation {
  return {
    id: c.id,
    type: c.type,
    title: c.title,
    lastMessageAt: c.lastMessageAt,
    unreadCount: c.unreadCount,
    externalUserID: c.externalUserID,
  };
}

/**
 * A member as the contract's MemberSummary. `tier` falls back to the org's default (the official Kotlin SDK
 * requires a string); `redemptionCounts` and `wallet` are the hosted API's loyalty features, which Concierge does
 * not have: present because its clients require the keys, and empty, never invented.
 */
export function renderMember(m: MemberRecord, defaultTier: string): Member {
  return {
    externalUserID: m.externalUserID,
    displayName: m.displayName,
    email: m.email,
    tier: m.tier ?? defaultTier,
    attributes: m.attributes,
    redemptionCounts: {},
    wallet: {},
    archivedAt: m.archivedAt,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

export function renderAgent(a: AgentRecord): Agent {
  return {
    id: a.id,
    orgID: a.orgID,
    email: a.email,
    name: a.name,
    role: a.role,
    createdAt: a.createdAt,
    disabledAt: a.disabledAt,
  };
}

/** An agent as a colleague sees them: no email (that stays with admins and the Org-API-Key). */
export function renderTeammate(a: AgentRecord): Teammate {
  return { id: a.id, name: a.name, role: a.role, disabledAt: a.disabledAt };
}

export function renderAgentSession(s: AgentSessionRecord, currentID: string | null): AgentSession {
  return {
    id: s.id,
    createdAt: s.createdAt,
    lastUsedAt: s.lastUsedAt,
    expiresAt: s.expiresAt,
    userAgent: s.userAgent,
    current: s.id === currentID,
  };
}

export function renderNote(n: NoteRecord): Note {
  return { id: n.id, conversationID: n.conversationID, authorID: n.authorID, body: n.body, createdAt: n.createdAt };
}

export const PREVIEW_CHARS = 140;

/** The first 140 characters (code points, so a surrogate pair is never cut in half). */
function preview(body: string | null): string {
  if (body === null) return '';
  const chars = [...body];
  return chars.length <= PREVIEW_CHARS ? body : `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…`;
}

export function renderInboxItem(r: InboxRow): InboxItem {
  const c = r.conversation;
  const m = r.lastMessage;
  const item: InboxItem = {
    conversation: renderConversation(c),
    status: c.status,
    assigneeID: c.assigneeID,
    awaitingReply: c.awaitingReply,
    lastActivityAt: c.lastMessageAt ?? c.createdAt,
    member: r.member,
    lastMessage:
      m === null
        ? null
        : {
            id: m.id,
            authorID: m.authorID,
            preview: preview(m.body),
            createdAt: m.createdAt,
            fromMember: m.type === 'member',
          },
  };
  if (r.search !== undefined) item.search = r.search;
  return item;
}

const instantOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A self-hosted server has one environment, live. Secrets are never part of it (creation and rotation add them). */
export function renderWebhookEndpoint(e: WebhookEndpointRecord): WebhookEndpoint {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    environment: 'LIVE',
    createdAt: e.createdAt,
    disabledAt: e.disabledAt,
    description: e.description,
    disabledReason: e.disabledReason,
    failingSince: instantOrNull(e.failingSince),
  };
}

export function renderWebhookDelivery(d: WebhookDeliveryRecord): WebhookDelivery {
  return {
    id: d.id,
    endpointID: d.endpointID,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    createdAt: d.createdAt,
    nextAttemptAt: d.status === 'pending' ? instantOrNull(d.nextAttemptAt) : null,
    lastAttemptAt: instantOrNull(d.lastAttemptAt),
    lastStatusCode: d.lastStatusCode,
    lastLatencyMs: d.lastLatencyMs,
    lastError: d.lastError,
    lastResponseBody: d.lastResponseBody,
  };
}

export const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

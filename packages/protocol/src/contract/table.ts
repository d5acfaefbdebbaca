import { LIMITS } from '../limits.js';
import * as agents from './operations/agents.js';
import * as auth from './operations/auth.js';
import * as conversations from './operations/conversations.js';
import * as inbox from './operations/inbox.js';
import * as members from './operations/members.js';
import * as messages from './operations/messages.js';
import * as ops from './operations/ops.js';
import * as streams from './operations/streams.js';
import * as webhooks from './operations/webhooks.js';

/** What a server's own settings change in the contract. */
export interface ContractOptions {
  /** `--max-message-chars`: the longest message or note, in characters. */
  maxMessageChars: number;
}

/**
 * The operation table: every route of the API, keyed by its operationId, in the order the document lists them.
 * The server registers its routes from it, enforces `callers` from it in one hook, and builds the OpenAPI
 * document from it; clients' types are inferred from its schemas (docs/STYLE.md, patterns 11 and 15).
 */
export function operationTable(options: ContractOptions = { maxMessageChars: LIMITS.messageMaxChars }) {
  return {
    healthz: ops.healthz,
    readyz: ops.readyz,
    openapi: ops.openapi,
    exchangeToken: auth.exchangeToken,
    agentSetup: agents.agentSetup,
    agentSignIn: agents.agentSignIn,
    agentRefresh: agents.agentRefresh,
    agentSwitchOrg: agents.agentSwitchOrg,
    agentSignOut: agents.agentSignOut,
    getCurrentAgent: agents.getCurrentAgent,
    listAgents: agents.listAgents,
    listTeammates: agents.listTeammates,
    createAgent: agents.createAgent,
    updateAgent: agents.updateAgent,
    listAgentSessions: agents.listAgentSessions,
    revokeAgentSessions: agents.revokeAgentSessions,
    revokeAgentSession: agents.revokeAgentSession,
    listInbox: inbox.listInbox,
    inboxCounts: inbox.inboxCounts,
    getInboxItem: inbox.getInboxItem,
    assignConversation: inbox.assignConversation,
    unassignConversation: inbox.unassignConversation,
    closeConversation: inbox.closeConversation,
    reopenConversation: inbox.reopenConversation,
    addNote: inbox.addNote(options.maxMessageChars),
    listNotes: inbox.listNotes,
    listMembers: members.listMembers,
    getMember: members.getMember,
    putMember: members.putMember,
    archiveMember: members.archiveMember,
    eraseMember: members.eraseMember,
    revokeMemberTokens: members.revokeMemberTokens,
    listConversations: conversations.listConversations,
    openConversation: conversations.openConversation,
    getConversation: conversations.getConversation,
    listMessages: messages.listMessages,
    sendMessage: messages.sendMessage(options.maxMessageChars),
    markRead: messages.markRead,
    sendTyping: messages.sendTyping,
    createStreamTicket: streams.createStreamTicket,
    streamConversation: streams.streamConversation,
    streamEvents: streams.streamEvents,
    createWebhook: webhooks.createWebhook,
    listWebhooks: webhooks.listWebhooks,
    getWebhook: webhooks.getWebhook,
    updateWebhook: webhooks.updateWebhook,
    deleteWebhook: webhooks.deleteWebhook,
    rotateWebhookSecret: webhooks.rotateWebhookSecret,
    listWebhookDeliveries: webhooks.listWebhookDeliveries,
    retryWebhookDelivery: webhooks.retryWebhookDelivery,
    replayWebhooks: webhooks.replayWebhooks,
    testWebhook: webhooks.testWebhook,
  };
}

export type OperationTable = ReturnType<typeof operationTable>;
export type OperationID = keyof OperationTable;

/** The table with this package's defaults, for what needs no server's settings (types, tests, tools). */
export const OPERATIONS: OperationTable = operationTable();

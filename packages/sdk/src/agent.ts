/**
 * `@concierge/sdk/agent`: the agent client for the concierge team (the console, team tools). Browser-safe; signs in
 * with an agent's email and password and holds a short-lived agent token, never the Org-API-Key. It shares the
 * member client's errors and types, re-exported here.
 */
export { ConciergeAgent } from './agent-client.js';
export type { ConciergeAgentOptions } from './agent-client.js';
export type { InboxQuery } from '@concierge/protocol';
export type { AgentStreamEvent, AgentStreamEventMap, AgentStreamEventType } from './agent-types.js';
export type { ForMember } from './conversation-calls.js';
export type {
  Actor,
  Agent,
  AgentOrg,
  AgentRole,
  AgentSession,
  ConversationState,
  ConversationStatus,
  CreateAgentResponse,
  InboxCounts,
  InboxItem,
  InboxPage,
  Note,
  NoteEvent,
  NotesPage,
  ServerLimits,
  SignedIn,
  Teammate,
} from '@concierge/protocol';
export { CursorPages } from './core/pagination.js';
export * from './index.js';

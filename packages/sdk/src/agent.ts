/**
 * `@concierge/sdk/agent`: the agent client for the concierge team (the console, team tools). Browser-safe; signs in
 * with an agent's email and password and holds a short-lived agent token, never the Org-API-Key. It shares the
 * member client's errors and types, re-exported here.
 */
export { ConciergeAgent } from './agent-client.js';
export type { ConciergeAgentOptions, InboxQuery } from './agent-client.js';
export type {
  Agent,
  AgentRole,
  AgentStreamEvent,
  AgentStreamEventMap,
  AgentStreamEventType,
  ConversationState,
  ConversationStatus,
  InboxCounts,
  InboxItem,
  InboxLastMessage,
  InboxMember,
  InboxPage,
  Note,
  NoteEvent,
  NotesPage,
  SignedIn,
} from './agent-types.js';
export { CursorPages } from './core/pagination.js';
export * from './index.js';

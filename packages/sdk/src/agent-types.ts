import type { StreamEvent, StreamEventMap, StreamEventType } from '@concierge/protocol';

/*
 * The team API's wire shapes are `@concierge/protocol`'s (team.ts), written once and re-exported by
 * `@concierge/sdk/agent`. An agent's `GET /v1/stream` carries every event type, the team-only
 * `conversation.updated` and `note` included; these names say so where the agent client uses them.
 */
export type AgentStreamEventMap = StreamEventMap;
export type AgentStreamEventType = StreamEventType;
export type AgentStreamEvent = StreamEvent;

/**
 * `@concierge/protocol/contract`: the wire schemas (zod) and the operation table. Server-side and for tools: it
 * carries zod at run time. Browser code takes the inferred types from `@concierge/protocol` with `import type`.
 */
export * from './errors.js';
export * from './fields.js';
export * from './headers.js';
export * from './operation.js';
export * from './table.js';
export * from './team.js';
export * from './webhook-shapes.js';
export * from './wire.js';
export { agentHeader, assignBody } from './operations/inbox.js';
export { attributesField, memberBody, memberParams } from './operations/members.js';
export { conversationParams, memberQuery } from './operations/conversations.js';
export { emailField } from './operations/agents.js';
export { exchangeBody, profileField } from './operations/auth.js';
export { readBody, sendBody } from './operations/messages.js';
export { streamQuery } from './operations/streams.js';
export * from './openapi.js';

/**
 * `@concierge/protocol`: the wire contract both ends agree on. This entry is browser-safe and carries no zod at
 * run time: the error-code table, the limits, the webhook event names, and every wire type (inferred from the
 * schemas in contract/, imported here as types only). The schemas and the operation table themselves are
 * `@concierge/protocol/contract`. How it is published: docs/design/protocol-publishing.md.
 */
export * from './error-codes.js';
export * from './limits.js';
export * from './webhook-events.js';
export type * from './json.js';
export type * from './types.js';
export type * from './request-types.js';

/**
 * `@concierge/sdk/server`: the server client for the org's backend (Org-API-Key). It shares the member client's
 * errors and types, re-exported here so a backend imports from one place.
 */
export { ConciergeServer } from './server-client.js';
export type { ConciergeServerOptions, ForMember, MemberProfile } from './server-client.js';
export * from './index.js';

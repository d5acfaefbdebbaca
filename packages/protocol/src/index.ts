export * from './error-codes.js';
export * from './wire.js';
export * from './events.js';
export * from './team.js';
export * from './webhooks.js';

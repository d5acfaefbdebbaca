export * from './stores.js';
export * from './server.js';
export * from './http.js';
export * from './sse-client.js';
export * from './resuming-client.js';
export * from './wait.js';
export * from './agents.js';
export * from './webhook-receiver.js';

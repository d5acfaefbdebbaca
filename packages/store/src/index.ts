export * from './store.js';
export { newID, nowISO, randomChunk } from './ids.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

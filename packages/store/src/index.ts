export * from './store.js';
export { newID, nowISO, randomChunk } from './ids.js';
export { openStore } from './open-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

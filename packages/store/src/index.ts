export * from './store.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

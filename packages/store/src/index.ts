export * from './store.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';
export { POSTGRES_MIGRATIONS } from './postgres/postgres-migrations.js';
export { searchTerms } from './search-terms.js';
export type { ReplayRenderer, ReplayRenderers } from './replay-renderers.js';
export { renderReplay } from './replay-renderers.js';
export * from './webhook-records.js';

#!/usr/bin/env node
// Writes docs/openapi.json: the OpenAPI document the server serves at GET /openapi.json, built from the route
// schemas of the compiled server (run after `tsc -b`; `npm run build` does both). The server is built with its
// defaults (no flags, no CONCIERGE_* variables) on an in-memory store and never listens, so the output depends on
// the code alone. packages/tests/src/openapi.test.ts fails when the committed file and the served document differ.
import { writeFileSync } from 'node:fs';
import { openStore } from '@concierge/store';
import { buildApp, resolveConfig } from '../packages/server/dist/index.js';

const out = new URL('../docs/openapi.json', import.meta.url);
const config = resolveConfig({ database: 'sqlite::memory:', 'log-level': 'error' }, {});
const store = await openStore(config.database);
const app = await buildApp(config, store);
await app.fastify.ready();
writeFileSync(out, `${JSON.stringify(app.fastify.swagger(), null, 2)}\n`);
await app.shutdown();
console.log(`wrote ${out.pathname}`);

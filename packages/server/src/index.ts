export { buildApp, type App } from './app.js';
export { resolveConfig, OPTIONS, type ServerConfig } from './config.js';
export { main, run, type CliIO } from './cli.js';
// The cursor format, for tools that mint positions with the server secret (bench/benchmarks/list.mjs).
export { decodeCursor, encodeCursor, type CursorPosition } from './cursor.js';

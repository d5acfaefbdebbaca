export { buildApp, type App } from './app.js';
export { resolveConfig, OPTIONS, type ServerConfig } from './config.js';
export { main } from './cli.js';

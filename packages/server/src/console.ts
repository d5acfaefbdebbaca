import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

/** Where `npm run build` puts the console (packages/console, `vite build`), seen from this file's dist/ folder. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/dist/web/', import.meta.url));

/**
 * The console's pages may run only our own scripts and talk only to this origin: the agent's token lives in the
 * page's memory, so an injected script is the one way to steal it. Styles are a file too; `style=` attributes set
 * from scripts are not covered by `style-src`.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/**
 * Every answer under /console carries the page's protections, not only the page: `/console/index.html` is the page
 * too (served as a file), and a browser must never frame, sniff or leak the referrer of any of them.
 * `X-Frame-Options` covers browsers that predate `frame-ancestors`.
 */
const CONSOLE_HEADERS = {
  'content-security-policy': CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

function protect(scope: FastifyInstance): void {
  scope.addHook('onSend', async (_req, reply, payload) => {
    void reply.headers(CONSOLE_HEADERS);
    return payload;
  });
}

/**
 * Serves the built console at /console (the server's own origin, so the refresh cookie is same-site and no CORS is
 * involved). Hashed assets are cached for a year; the page itself never, so a new build is picked up on reload.
 * Every path under /console that is not a file (`/console/setup`, a deep link) gets the page: the app routes
 * itself. When the console was not built, /console says how to build it instead of a bare 404
 * (docs/design/console-app.md).
 */
export async function registerConsole(fastify: FastifyInstance, dir = CONSOLE_DIR): Promise<void> {
  const index = `${dir}index.html`;
  if (!existsSync(index)) {
    fastify.log.warn({ dir }, 'the console is not built (npm run build): /console answers 503');
    const notBuilt = async (_req: unknown, reply: FastifyReply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built on this server: run `npm run build`, then restart.\n');
    await fastify.register(
      async (scope) => {
        protect(scope);
        scope.get('/', { schema: { hide: true } }, notBuilt);
        scope.get('/*', { schema: { hide: true } }, notBuilt);
      },
      { prefix: '/console' },
    );
    return;
  }
  // The tab's icon, where browsers ask for it whatever page they are on; it changes with the brand, not the build.
  const icon = existsSync(`${dir}favicon.svg`) ? readFileSync(`${dir}favicon.svg`) : null;
  if (icon !== null)
    fastify.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('image/svg+xml').header('cache-control', 'public, max-age=604800').send(icon),
    );
  // Read once: the page is small, and a rebuild under a running server brings new hashed asset names with it.
  let page = readFileSync(index);
  let pageMtime = 0;
  const currentPage = () => {
    // Re-read when a rebuild replaced it, so the page and the assets on disk always match.
    try {
      const { mtimeMs } = statSync(index);
      if (mtimeMs !== pageMtime) {
        page = readFileSync(index);
        pageMtime = mtimeMs;
      }
    } catch {
      // Removed mid-rebuild: keep serving the last copy.
    }
    return page;
  };
  const sendPage = (reply: FastifyReply) =>
    reply.code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(currentPage());

  await fastify.register(
    async (scope) => {
      protect(scope);
      await scope.register(fastifyStatic, {
        root: dir,
        prefix: '/',
        index: false,
        wildcard: true,
        schemaHide: true,
        // Our own headers below: hashed assets forever, anything else revalidated.
        cacheControl: false,
        setHeaders: (res, file) => {
          res.setHeader(
            'cache-control',
            file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      });
      // A conditional or range request a file cannot satisfy keeps its status and headers (412; 416 with
      // `Content-Range`): file semantics the error table has no codes for. Anything else goes to the app's handler.
      scope.setErrorHandler(async (error: FastifyError & { headers?: Record<string, string> }, _req, reply) => {
        if (error.statusCode !== 412 && error.statusCode !== 416) throw error;
        return reply
          .code(error.statusCode)
          .headers(error.headers ?? {})
          .send();
      });
      scope.get('/', { schema: { hide: true } }, async (_req, reply) => sendPage(reply));
      // The SPA fallback: a path with no file behind it is a route of the app (no extension: `/console/setup`);
      // a missing asset (`.js`, `.css`) stays a 404 so a stale page fails loudly instead of running HTML as script.
      scope.setNotFoundHandler(async (req, reply) => {
        const last = req.url.split('?')[0]!.split('/').pop() ?? '';
        if (req.method === 'GET' && !last.includes('.')) return sendPage(reply);
        const api = new ApiError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`);
        return reply.code(404).send(api.body(req.id));
      });
    },
    { prefix: '/console' },
  );
}

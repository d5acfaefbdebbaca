import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { ERROR_CODES, GENERIC_CODE_BY_STATUS, isErrorCode, type ErrorCode } from '@concierge/protocol';
import { operationTable } from '@concierge/protocol/contract';
import {
  IDEMPOTENCY_TTL_MS,
  StorageUnavailable,
  UnstorableValue,
  WriterOverloaded,
  type Store,
} from '@concierge/store';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Authenticator, principalID } from './auth/authenticator.js';
import { authorize } from './auth/authorize.js';
import { PasswordHasher } from './auth/passwords.js';
import { SignInLimiter } from './auth/sign-in-limiter.js';
import type { ServerConfig } from './config.js';
import type { AppContext } from './context.js';
import { registerConsole } from './console.js';
import { ConversationOwners } from './conversation-owners.js';
import { ApiError } from './errors.js';
import { capConnectionsPerAddress, clientErrorHandler } from './input/client-errors.js';
import { registerJsonBody } from './input/json-body.js';
import { badQueryParameter } from './input/raw-query.js';
import { requestID } from './input/request-id.js';
import { redactDeep } from './log-redaction.js';
import { Idempotency } from './middleware/idempotency.js';
import { RateLimiter } from './middleware/rate-limit.js';
import { Metrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { agentAuthRoutes } from './routes/agent-auth.js';
import { agentRoutes } from './routes/agents.js';
import { authRoutes } from './routes/auth.js';
import { conversationRoutes } from './routes/conversations.js';
import { inboxRoutes } from './routes/inbox.js';
import { memberRoutes } from './routes/members.js';
import { messageRoutes } from './routes/messages.js';
import { opsRoutes } from './routes/ops.js';
import { streamRoutes } from './routes/streams.js';
import { webhookRoutes } from './routes/webhooks.js';
import { Hub } from './sse/hub.js';
import { Tickets } from './sse/tickets.js';
import { serializerCompiler, validatorCompiler } from './validation.js';
import { Deliverer } from './webhooks/deliverer.js';

export interface App {
  fastify: FastifyInstance;
  ctx: AppContext;
  /** SIGTERM: refuse new work, end streams, finish requests in flight, close the store (docs/design/shutdown.md). */
  shutdown(): Promise<void>;
}

/** The headers browsers may read from cross-origin answers (the SDK needs them; docs/design/cors.md). */
const EXPOSED_HEADERS = [
  'x-request-id',
  'idempotent-replayed',
  'retry-after',
  'x-should-retry',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'www-authenticate',
];

/** Maps Fastify's own errors (parser, limits, bad URLs) into the one error table. */
function toApiError(error: FastifyError | Error): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof UnstorableValue)
    return new ApiError('VALIDATION', `\`${error.field}\` ${error.message}.`, { field: error.field });
  // A full disk, an I/O error, the database down: not the request's fault, and retrying later may succeed.
  if (error instanceof StorageUnavailable)
    return new ApiError('UNAVAILABLE', 'Storage is unavailable right now; retry shortly.', {
      headers: { 'retry-after': '2' },
    });
  // More writes wait for the disk than the server queues (--sqlite-write-queue): refused before anything was written.
  if (error instanceof WriterOverloaded)
    return new ApiError('UNAVAILABLE', 'The server is busy writing; retry shortly.', {
      headers: { 'retry-after': '1' },
    });
  const code = (error as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as `Content-Type: application/json`.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new ApiError('BAD_REQUEST', 'The request is malformed.');
    // 414 in Fastify, a status the error table has no code for: a path segment over 1024 characters names nothing.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('BAD_REQUEST', 'A path segment is longer than this server accepts.');
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return new ApiError(codeOfStatus(status), 'The request is malformed.');
  return null;
}

/**
 * The code a client error of a plugin or of Fastify is answered with: the status's generic code when the table has
 * it, else the table's first code of that status (422 is `VALIDATION`, not the hosted API's generic
 * `UNPROCESSABLE_ENTITY`, which is no code of ours), so the status is kept; 400 `BAD_REQUEST` only for a status the
 * table has no code for.
 */
function codeOfStatus(status: number): ErrorCode {
  const generic = GENERIC_CODE_BY_STATUS[status];
  if (generic !== undefined && isErrorCode(generic)) return generic;
  const first = (Object.keys(ERROR_CODES) as ErrorCode[]).find((code) => ERROR_CODES[code].status === status);
  return first ?? 'BAD_REQUEST';
}

/** Where log lines go when not to the process's stdout (one JSON line per `write`). */
export interface LogDestination {
  write(line: string): void;
}

export async function buildApp(config: ServerConfig, store: Store, log?: LogDestination): Promise<App> {
  const fastify = Fastify({
    logger: {
      level: config.logLevel,
      ...(log === undefined ? {} : { stream: log }),
      // Credentials never reach a log line, at whatever depth something logs them (log-redaction.ts).
      formatters: { log: redactDeep },
    },
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 1024 },
    // One line per request comes from our onResponse hook (path only, never a query string).
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => requestID(req.headers['x-request-id']),
    forceCloseConnections: 'idle',
    // A client must send its whole request in bounded time, so a slow body (1 byte/s) cannot hold a socket and
    // its buffers for hours. Streams are unaffected: their request is complete once the headers are in. Node
    // checks these deadlines every `connectionsCheckingInterval`, so that bounds how late a check may fire.
    requestTimeout: config.requestTimeoutSeconds * 1000,
    http: {
      headersTimeout: config.headersTimeoutSeconds * 1000,
      requestTimeout: config.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
    },
    clientErrorHandler,
    frameworkErrors: (error, req, reply) => {
      const api = toApiError(error) ?? new ApiError('BAD_REQUEST', 'The request is malformed.');
      void (reply as unknown as FastifyReply).code(api.status).header('x-request-id', req.id).send(api.body(req.id));
    },
  });
  capConnectionsPerAddress(fastify.server, config.maxConnectionsPerIP, fastify.log);

  const auth = new Authenticator(store);
  const cursorSecret = await store.serverSecret();
  let hub: Hub | null = null;
  const metrics = new Metrics(
    () => hub?.size ?? 0,
    () => store.pendingWrites(),
    () => store.feedStats(),
  );
  hub = new Hub(store, auth, config, cursorSecret);
  const ctx: AppContext = {
    config,
    store,
    auth,
    idempotency: new Idempotency(store),
    limiter: new RateLimiter(config.rateLimitPerMinute),
    cursorSecret,
    metrics,
    hub,
    conversations: new ConversationOwners(store),
    tickets: new Tickets(cursorSecret, config.ticketTtlSeconds * 1000, store),
    signIns: new SignInLimiter(() => metrics.refusedBeforeHash.inc({ reason: 'rate_limited' })),
    passwords: new PasswordHasher(config.passwordHashQueue, metrics, config.passwordCost),
    // An endpoint disabled by its failures is announced on the org's streams, on every instance.
    webhooks: new Deliverer(store, config, fastify.log, (e) =>
      store.publishEphemeral({
        kind: 'webhook-disabled',
        orgID: e.orgID,
        endpointID: e.id,
        url: e.url,
        reason: e.disabledReason ?? 'failing',
        at: e.disabledAt ?? new Date().toISOString(),
      }),
    ),
  };
  let closing = false;

  fastify.decorateRequest('principal', null as never);

  registerJsonBody(fastify);

  await fastify.register(cors, {
    origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'authorization',
      'content-type',
      'idempotency-key',
      'last-event-id',
      'x-request-id',
      'accept',
      'concierge-agent-id',
    ],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: false,
  });

  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Query parameters must decode as well-formed UTF-8, so what a route reads is what the client meant.
    const bad = badQueryParameter(req.url);
    if (bad !== null)
      throw new ApiError('VALIDATION', `\`${bad}\` is not well-formed percent-encoded UTF-8.`, { field: bad });
  });

  // A per-address tier before authentication: bad credentials are limited too, so a flood of bogus Org-API-Keys
  // costs bounded database reads. The per-credential limit (RateLimiter) still applies after authentication. It is
  // a root onRequest hook, not the plugin's per-route one, because route-level hooks run after /v1's
  // authentication hook, which is exactly what this tier must precede.
  if (config.ipRateLimitPerMinute > 0) {
    // Its own x-ratelimit-* headers would contradict the per-credential RateLimit-* ones; a refusal says Retry-After.
    const noHeaders = { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false };
    await fastify.register(rateLimit, { global: false, addHeaders: noHeaders, addHeadersOnExceeding: noHeaders });
    fastify.addHook(
      'onRequest',
      fastify.rateLimit({
        max: config.ipRateLimitPerMinute,
        timeWindow: 60_000,
        keyGenerator: (req) => req.ip,
        // A load balancer probes health from one address all day.
        allowList: (req) => req.url === '/healthz' || req.url === '/readyz',
        errorResponseBuilder: (_req, context) =>
          new ApiError(
            'RATE_LIMITED',
            `Rate limit of ${context.max} requests per minute from this address reached; retry later.`,
            { headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) } },
          ),
      }),
    );
  }

  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ route, method: req.method, status: reply.statusCode });
    // A stream's "response time" is its whole life: it would drown the latency histogram, so streams are counted
    // (here and in concierge_sse_streams_*) but not timed.
    if (!route.endsWith('/stream'))
      ctx.metrics.latency.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    // The path only: a stream ticket may travel in the query string.
    req.log.info(
      { method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  fastify.setErrorHandler((error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    let api = toApiError(error);
    if (api === null) {
      req.log.error({ err: error }, 'unhandled error');
      api = new ApiError('INTERNAL', 'Something went wrong on our side. Quote the request id if you report it.');
    }
    if (api.options.headers !== undefined) void reply.headers(api.options.headers);
    return reply.code(api.status).send(api.body(req.id));
  });

  fastify.setNotFoundHandler((req, reply) => {
    const api = new ApiError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`);
    return reply.code(404).send(api.body(req.id));
  });

  // Route schemas (the contract's operation table) are zod: they validate requests and, through the swagger plugin
  // registered before any route, make the OpenAPI document.
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  await registerOpenApi(fastify);

  // Every operation of the table is served: a route left unregistered fails the start, not a client.
  const unserved = new Set(Object.keys(operationTable(config)));
  fastify.addHook('onRoute', (r) => {
    const id = (r.config as { operation?: { operationId: string } } | undefined)?.operation?.operationId;
    if (id !== undefined) unserved.delete(id);
  });

  opsRoutes(fastify, ctx, () => closing);
  if (config.console) await registerConsole(fastify);

  await fastify.register(
    async (v1) => {
      v1.addHook('onRequest', async (req, reply) => {
        if (closing)
          throw new ApiError('UNAVAILABLE', 'This instance is shutting down; retry.', {
            headers: { 'retry-after': '1' },
          });
        const operation = req.routeOptions.config.operation;
        // Sign-in routes take no bearer; they are limited per address instead of per credential.
        if (operation?.callers === 'public') {
          void reply.headers(ctx.limiter.take(`ip:${req.ip}`));
          return;
        }
        const ticket = (req.query as Record<string, unknown> | undefined)?.ticket;
        const viaTicket =
          req.headers.authorization === undefined && typeof ticket === 'string' && operation?.ticket === true;
        if (viaTicket) {
          const principal = await ctx.tickets.redeem(ticket);
          if (!(await auth.stillValid(principal)))
            throw new ApiError('TOKEN_REVOKED', 'The token behind this ticket is no longer valid.');
          if (principal.kind === 'server') {
            const keys = await store.listApiKeys(principal.orgID);
            if (!keys.some((k) => k.id === principal.keyID && k.revokedAt === null))
              throw new ApiError('API_KEY_INVALID', 'The Org-API-Key behind this ticket was revoked.');
          }
          req.principal = principal;
        } else req.principal = await auth.authenticate(req.headers.authorization);
        void reply.headers(ctx.limiter.take(principalID(req.principal)));
      });
      v1.addHook('onRequest', authorize);
      authRoutes(v1, ctx);
      agentAuthRoutes(v1, ctx);
      agentRoutes(v1, ctx);
      inboxRoutes(v1, ctx);
      memberRoutes(v1, ctx);
      conversationRoutes(v1, ctx);
      messageRoutes(v1, ctx);
      streamRoutes(v1, ctx);
      webhookRoutes(v1, ctx);
    },
    { prefix: '/v1' },
  );

  if (unserved.size > 0) throw new Error(`operations of the table with no route: ${[...unserved].join(', ')}`);

  // Expired keys are replaced on reuse anyway; the purge only keeps the table small. Once at start, then hourly.
  const purgeOnce = () =>
    store
      .purgeIdempotency(Date.now() - IDEMPOTENCY_TTL_MS)
      .catch((err: unknown) => fastify.log.warn({ err }, 'purge failed'));
  void purgeOnce();
  const purge = setInterval(() => void purgeOnce(), 60 * 60 * 1000).unref();

  return {
    fastify,
    ctx,
    async shutdown() {
      if (closing) return;
      closing = true;
      clearInterval(purge);
      // Streams end first, each once its resume point is stored, so the reconnect finds it on another instance.
      await ctx.hub.close(config.shutdownGraceSeconds * 1000);
      ctx.tickets.close();
      ctx.limiter.close();
      const grace = setTimeout(() => fastify.server.closeAllConnections(), config.shutdownGraceSeconds * 1000);
      grace.unref();
      await fastify.close();
      clearTimeout(grace);
      await ctx.passwords.close();
      // Attempts in flight get the grace period to be recorded; any still running then are attempted again by
      // whichever instance claims them after their lease.
      await ctx.webhooks.close(config.shutdownGraceSeconds * 1000);
      await store.close();
    },
  };
}

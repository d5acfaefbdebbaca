/**
 * Every server option, with its flag, its `CONCIERGE_*` environment variable and its default, in one table:
 * the CLI's `--help`, the parser and docs/configuration.md all follow it.
 */
export interface ServerConfig {
  port: number;
  host: string;
  database: string;
  broker: string;
  tokenTtlSeconds: number;
  rateLimitPerMinute: number;
  corsOrigins: string[];
  maxMessageChars: number;
  bodyLimitBytes: number;
  heartbeatSeconds: number;
  maxStreamsPerMember: number;
  streamBufferBytes: number;
  logLevel: string;
  shutdownGraceSeconds: number;
  firstRunOrg: boolean;
  migrate: boolean;
  ticketTtlSeconds: number;
  metricsPort: number;
  metricsHost: string;
  requestTimeoutSeconds: number;
  headersTimeoutSeconds: number;
  maxConnectionsPerIP: number;
  ipRateLimitPerMinute: number;
  publicUrl: string;
  sqliteWriter: 'worker' | 'main';
  sqliteWriteQueue: number;
  passwordHashQueue: number;
  passwordCost: number;
  console: boolean;
  webhookTimeoutSeconds: number;
  webhooksAllowHttp: boolean;
  webhooksAllowPrivate: boolean;
  webhookConcurrency: number;
  webhookRetentionDays: number;
  /** Seconds before each attempt: the first (normally 0) is the first attempt, then one per retry. */
  webhookRetrySchedule: number[];
  webhookDisableAfterSeconds: number;
  webhookLeaseSeconds: number;
  webhookPollSeconds: number;
}

type Kind = 'int' | 'posnum' | 'string' | 'list' | 'bool';

interface OptionSpec {
  key: keyof ServerConfig;
  flag: string;
  env: string;
  kind: Kind;
  default: string;
  help: string;
  /** For tests only: parsed like any option, left out of `--help` (docs/configuration.md says so). */
  hidden?: true;
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: 'port', env: 'PORT', kind: 'int', default: '8080', help: 'TCP port (0 picks a free one)' },
  {
    key: 'host',
    flag: 'host',
    env: 'CONCIERGE_HOST',
    kind: 'string',
    default: '127.0.0.1',
    help: "address to listen on ('0.0.0.0' for every interface, as in a container)",
  },
  {
    key: 'database',
    flag: 'database',
    env: 'CONCIERGE_DATABASE_URL',
    kind: 'string',
    default: 'sqlite:./data/concierge.db',
    help: 'sqlite:<path> or postgres://user:pass@host/db',
  },
  {
    key: 'broker',
    flag: 'broker',
    env: 'CONCIERGE_BROKER_URL',
    kind: 'string',
    default: '',
    help: 'PostgreSQL only: nats://host:port, for wake-ups between instances through NATS instead of LISTEN/NOTIFY (empty: NOTIFY); the same on every instance',
  },
  {
    key: 'tokenTtlSeconds',
    flag: 'token-ttl',
    env: 'CONCIERGE_TOKEN_TTL_SECONDS',
    kind: 'posnum',
    default: '600',
    help: 'member token lifetime in seconds (any positive number)',
  },
  {
    key: 'rateLimitPerMinute',
    flag: 'rate-limit',
    env: 'CONCIERGE_RATE_LIMIT_PER_MINUTE',
    kind: 'int',
    default: '1200',
    help: 'requests per minute per credential; 0 turns the limit off',
  },
  {
    key: 'ipRateLimitPerMinute',
    flag: 'ip-rate-limit',
    env: 'CONCIERGE_IP_RATE_LIMIT_PER_MINUTE',
    kind: 'int',
    default: '6000',
    help: 'requests per minute per client IP, counted before authentication; 0 turns it off',
  },
  {
    key: 'maxConnectionsPerIP',
    flag: 'max-connections-per-ip',
    env: 'CONCIERGE_MAX_CONNECTIONS_PER_IP',
    kind: 'int',
    default: '1000',
    help: 'open TCP connections one client IP may hold (streams included); 0 turns the cap off',
  },
  {
    key: 'requestTimeoutSeconds',
    flag: 'request-timeout',
    env: 'CONCIERGE_REQUEST_TIMEOUT_SECONDS',
    kind: 'posnum',
    default: '30',
    help: 'seconds a client has to send a whole request, body included (a stream is sent, not received)',
  },
  {
    key: 'headersTimeoutSeconds',
    flag: 'headers-timeout',
    env: 'CONCIERGE_HEADERS_TIMEOUT_SECONDS',
    kind: 'posnum',
    default: '10',
    help: "seconds a client has to send a request's headers",
  },
  {
    key: 'corsOrigins',
    flag: 'cors-origins',
    env: 'CONCIERGE_CORS_ORIGINS',
    kind: 'list',
    default: '*',
    help: "comma-separated origins allowed to call from browsers; '*' any, '' none",
  },
  {
    key: 'maxMessageChars',
    flag: 'max-message-chars',
    env: 'CONCIERGE_MAX_MESSAGE_CHARS',
    kind: 'int',
    default: '4000',
    help: 'longest message text accepted, in characters',
  },
  {
    key: 'bodyLimitBytes',
    flag: 'body-limit',
    env: 'CONCIERGE_BODY_LIMIT_BYTES',
    kind: 'int',
    default: '65536',
    help: 'largest request body accepted, in bytes',
  },
  {
    key: 'heartbeatSeconds',
    flag: 'heartbeat',
    env: 'CONCIERGE_HEARTBEAT_SECONDS',
    kind: 'posnum',
    // Half the tightest read timeout of the hosted API's SDKs (OkHttp's 10 s default in the Kotlin SDK): an idle
    // stream carries a byte well within it even on a loaded server (docs/sse.md, "Heartbeat").
    default: '5',
    help: 'seconds between SSE heartbeat comments',
  },
  {
    key: 'maxStreamsPerMember',
    flag: 'max-streams-per-member',
    env: 'CONCIERGE_MAX_STREAMS_PER_MEMBER',
    kind: 'int',
    default: '20',
    help: 'concurrent SSE streams one member may hold',
  },
  {
    key: 'streamBufferBytes',
    flag: 'stream-buffer',
    env: 'CONCIERGE_STREAM_BUFFER_BYTES',
    kind: 'int',
    default: '1048576',
    help: 'bytes queued for a slow SSE reader before it is disconnected (one burst of sends must fit)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'CONCIERGE_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    help: 'pino log level',
  },
  {
    key: 'shutdownGraceSeconds',
    flag: 'shutdown-grace',
    env: 'CONCIERGE_SHUTDOWN_GRACE_SECONDS',
    kind: 'posnum',
    default: '10',
    help:
      'seconds a stop waits at each of three steps (stream resume points, requests in flight, webhook attempts), ' +
      'each on its own: up to about three times this in all',
  },
  {
    key: 'firstRunOrg',
    flag: 'first-run-org',
    env: 'CONCIERGE_FIRST_RUN_ORG',
    kind: 'bool',
    default: 'true',
    help: "on a database with no org, create 'default' and print its key once",
  },
  {
    key: 'console',
    flag: 'console',
    env: 'CONCIERGE_CONSOLE',
    kind: 'bool',
    default: 'true',
    help: "serve the team's web console at /console (false turns it off)",
  },
  {
    key: 'ticketTtlSeconds',
    flag: 'ticket-ttl',
    env: 'CONCIERGE_TICKET_TTL_SECONDS',
    kind: 'posnum',
    default: '60',
    help: 'lifetime of a single-use stream ticket, in seconds',
  },
  {
    key: 'migrate',
    flag: 'migrate',
    env: 'CONCIERGE_MIGRATE',
    kind: 'bool',
    default: 'true',
    help: 'apply schema migrations at start-up (safe when several instances start at once)',
  },
  {
    key: 'sqliteWriter',
    flag: 'sqlite-writer',
    env: 'CONCIERGE_SQLITE_WRITER',
    kind: 'string',
    default: 'main',
    help: "SQLite: where writes run, 'main' (group commit on the event loop) or 'worker' (a writer thread with its own connection)",
  },
  {
    key: 'sqliteWriteQueue',
    flag: 'sqlite-write-queue',
    env: 'CONCIERGE_SQLITE_WRITE_QUEUE',
    kind: 'int',
    default: '2000',
    help: 'SQLite: writes that may wait for the writer at once; past it a write is refused with 503 UNAVAILABLE',
  },
  {
    key: 'passwordHashQueue',
    flag: 'password-hash-queue',
    env: 'CONCIERGE_PASSWORD_HASH_QUEUE',
    kind: 'int',
    default: '16',
    help: 'agent password hashes that may run or wait at once; past it a sign-in is refused with 503 UNAVAILABLE',
  },
  {
    key: 'passwordCost',
    flag: 'password-cost',
    env: 'CONCIERGE_PASSWORD_COST',
    kind: 'int',
    default: '15',
    help: "log2 of scrypt's N for passwords set from now on, 10 to 20 (tests only: below 15 is weaker than OWASP's minimum)",
    hidden: true,
  },
  {
    key: 'metricsPort',
    flag: 'metrics-port',
    env: 'CONCIERGE_METRICS_PORT',
    kind: 'int',
    default: '9464',
    help: 'port of the separate /metrics listener (0 picks a free one)',
  },
  {
    key: 'metricsHost',
    flag: 'metrics-host',
    env: 'CONCIERGE_METRICS_HOST',
    kind: 'string',
    default: '127.0.0.1',
    help: 'address of the /metrics listener: loopback, so only this machine (or a sidecar) scrapes it',
  },
  {
    key: 'publicUrl',
    flag: 'public-url',
    env: 'CONCIERGE_PUBLIC_URL',
    kind: 'string',
    default: '',
    help: "the URL browsers reach this server at, for agents' sign-in links (empty: the address listened on)",
  },
  {
    key: 'webhookTimeoutSeconds',
    flag: 'webhook-timeout',
    env: 'CONCIERGE_WEBHOOK_TIMEOUT_SECONDS',
    kind: 'posnum',
    default: '15',
    help: 'seconds a webhook receiver has to answer (headers and body) before the attempt counts as failed',
  },
  {
    key: 'webhooksAllowHttp',
    flag: 'webhooks-allow-http',
    env: 'CONCIERGE_WEBHOOKS_ALLOW_HTTP',
    kind: 'bool',
    default: 'false',
    help: 'accept http:// webhook URLs (https only otherwise)',
  },
  {
    key: 'webhooksAllowPrivate',
    flag: 'webhooks-allow-private',
    env: 'CONCIERGE_WEBHOOKS_ALLOW_PRIVATE',
    kind: 'bool',
    default: 'false',
    help: 'deliver webhooks to loopback, private, link-local and metadata addresses (refused otherwise)',
  },
  {
    key: 'webhookConcurrency',
    flag: 'webhook-concurrency',
    env: 'CONCIERGE_WEBHOOK_CONCURRENCY',
    kind: 'int',
    default: '16',
    help: 'webhook deliveries in flight per endpoint on each instance',
  },
  {
    key: 'webhookRetentionDays',
    flag: 'webhook-retention',
    env: 'CONCIERGE_WEBHOOK_RETENTION_DAYS',
    kind: 'posnum',
    default: '30',
    help: 'days delivered and failed webhook deliveries stay listed before they are deleted',
  },
  {
    key: 'webhookRetrySchedule',
    flag: 'webhook-retry-schedule',
    env: 'CONCIERGE_WEBHOOK_RETRY_SCHEDULE',
    kind: 'list',
    default: '0,5,300,1800,7200,18000,36000,36000',
    help: 'seconds before each webhook attempt (tests only)',
    hidden: true,
  },
  {
    key: 'webhookDisableAfterSeconds',
    flag: 'webhook-disable-after',
    env: 'CONCIERGE_WEBHOOK_DISABLE_AFTER_SECONDS',
    kind: 'posnum',
    default: '432000',
    help: 'seconds of failing deliveries after which an endpoint is disabled (tests only)',
    hidden: true,
  },
  {
    key: 'webhookLeaseSeconds',
    flag: 'webhook-lease',
    env: 'CONCIERGE_WEBHOOK_LEASE_SECONDS',
    kind: 'posnum',
    default: '60',
    help: 'seconds an instance holds a delivery it claimed; must exceed --webhook-timeout (tests only)',
    hidden: true,
  },
  {
    key: 'webhookPollSeconds',
    flag: 'webhook-poll',
    env: 'CONCIERGE_WEBHOOK_POLL_SECONDS',
    kind: 'posnum',
    default: '1',
    help: 'seconds between looks for due webhook deliveries besides those commits announce (tests only)',
    hidden: true,
  },
];

export class ConfigError extends Error {}

/** pino's levels: a typo is refused here, before anything is created or printed, not by the logger later. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `--database` as a URL: `sqlite:<path>` or `postgres://…`. A plain path (what a newcomer types, `./data/x.db`)
 * means SQLite; anything else with a scheme is refused here, by name.
 */
export function databaseURL(given: string): string {
  if (/^postgres(ql)?:\/\//i.test(given) || given.startsWith('sqlite:')) return given;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given))
    throw new ConfigError(
      `--database: unsupported database URL '${given.split('://')[0]}://…' (sqlite: or postgres://)`,
    );
  if (given.trim() === '') throw new ConfigError('--database: empty');
  return `sqlite:${given}`;
}

function parseValue(spec: OptionSpec, raw: string, source: string): ServerConfig[keyof ServerConfig] {
  switch (spec.kind) {
    case 'int': {
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${source}: expected a whole number ≥ 0, got '${raw}'`);
      return Number(raw);
    }
    case 'posnum': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n <= 0)
        throw new ConfigError(`${source}: expected a positive number, got '${raw}'`);
      return n;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'bool':
      if (!/^(true|false|1|0|yes|no)$/i.test(raw))
        throw new ConfigError(`${source}: expected true or false, got '${raw}'`);
      return /^(true|1|yes)$/i.test(raw);
    case 'string':
      return raw;
  }
}

/** Flags win over environment variables, which win over defaults. */
export function resolveConfig(
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const flag = flags[spec.flag];
    if (flag !== undefined) out[spec.key] = parseValue(spec, String(flag), `--${spec.flag}`);
    else if (env[spec.env] !== undefined) out[spec.key] = parseValue(spec, env[spec.env]!, spec.env);
    else out[spec.key] = parseValue(spec, spec.default, `default of --${spec.flag}`);
  }
  const config = out as unknown as ServerConfig;
  if (config.port > 65535) throw new ConfigError(`--port: ${config.port} is not a TCP port`);
  if (config.publicUrl !== '') {
    if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(config.publicUrl))
      throw new ConfigError(`--public-url: expected http(s)://host[:port][/path], got '${config.publicUrl}'`);
    config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  }
  if (config.metricsPort > 65535) throw new ConfigError(`--metrics-port: ${config.metricsPort} is not a TCP port`);
  if (!LOG_LEVELS.includes(config.logLevel))
    throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${config.logLevel}'`);
  if (config.sqliteWriter !== 'worker' && config.sqliteWriter !== 'main')
    throw new ConfigError(`--sqlite-writer: expected worker or main, got '${String(config.sqliteWriter)}'`);
  if (config.sqliteWriteQueue < 1) throw new ConfigError('--sqlite-write-queue: expected at least 1');
  if (config.passwordHashQueue < 1) throw new ConfigError('--password-hash-queue: expected at least 1');
  if (config.passwordCost < 10 || config.passwordCost > 20) throw new ConfigError('--password-cost: expected 10 to 20');
  config.database = databaseURL(config.database);
  if (config.broker !== '') {
    if (!config.database.startsWith('postgres'))
      throw new ConfigError('--broker: only for a PostgreSQL database (one SQLite instance needs no wake-ups)');
    for (const server of config.broker.split(','))
      if (!/^(nats|tls):\/\/[^/?#\s]+$/.test(server))
        throw new ConfigError(`--broker: expected nats://host:port (comma-separated for a cluster), got '${server}'`);
  }
  const schedule = (config.webhookRetrySchedule as unknown as string[]).map(Number);
  if (schedule.length === 0 || schedule.some((n) => !Number.isFinite(n) || n < 0))
    throw new ConfigError('--webhook-retry-schedule: expected comma-separated seconds ≥ 0');
  config.webhookRetrySchedule = schedule;
  if (config.webhookConcurrency < 1) throw new ConfigError('--webhook-concurrency: expected at least 1');
  // A lease shorter than an attempt would let another instance send the same delivery while this one still waits.
  if (config.webhookLeaseSeconds <= config.webhookTimeoutSeconds)
    throw new ConfigError('--webhook-lease: must be longer than --webhook-timeout');
  return Object.freeze(config);
}

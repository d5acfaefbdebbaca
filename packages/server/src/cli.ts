import { parseArgs } from 'node:util';
import { AgentExists, openStore, type AgentRecord, type Store } from '@concierge/store';
import { REPLAY_RENDERERS_URL } from './replay-renderers.js';
import { apiKeyPrefix, generateApiKey, isApiKeyPrefix } from './auth/api-keys.js';
import { DEFAULT_PASSWORD_COST } from './auth/passwords.js';
import { newSignInLink, signInURL } from './auth/sign-in-links.js';
import { buildApp, type LogDestination } from './app.js';
import { listenMetrics } from './metrics-listener.js';
import { ConfigError, OPTIONS, resolveConfig } from './config.js';

const USAGE = `Usage: concierge <command> [options]

Commands:
  serve                       run the server (npm start runs this)
  migrate                     apply schema migrations and exit
  orgs create <name> [--json] create an org and print its first Org-API-Key (once)
  orgs list [--json]          list orgs
  orgs default-tier <tier> [--org ID]
                              the tier members without one report (GET /v1/members: \`tier\` is never null);
                              'standard' until set
  keys create [--org ID] [--prefix P] [--json]
                              add an Org-API-Key (rotate without downtime: create, deploy, revoke the old);
                              --prefix expys_live_ (any [a-z]+_live_ or [a-z]+_sandbox_) for backends on the
                              hosted API's official SDK, which tells server keys by that prefix
  keys list [--org ID] [--json]     list an org's keys (hints and prefixes only; keys are stored as hashes)
  keys revoke <keyID> [--org ID]    revoke a key at once
  agents create --email E --name N [--role admin|agent] [--org ID] [--json]
                              add an agent and print their one-time sign-in link (24 hours)
  agents list [--org ID] [--json]   list an org's agents
  agents disable --email E|--id ID [--org ID] [--json]
                              disable an agent: their sessions end, their streams within a heartbeat
  agents link --email E|--id ID [--org ID] [--json]
                              a new one-time sign-in link (a forgotten password, an expired link)
  agents sessions --email E|--id ID [--org ID] [--revoke-all] [--json]
                              list an agent's sessions, or end them all (sign out everywhere)

Options of serve (each also read from its environment variable):
${OPTIONS.filter((o) => o.hidden !== true)
  .map((o) => `  --${o.flag.padEnd(24)} ${o.env.padEnd(34)} ${o.help} (default ${JSON.stringify(o.default)})`)
  .join('\n')}

--database (CONCIERGE_DATABASE_URL) applies to every command. --org may be left out when there is one org.`;

const FIRST_ADMIN_EMAIL = 'admin@localhost';

/** Where a command writes and the environment it reads: the process's own, or a caller's that runs it in-process. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /**
   * For a server run inside another program (the test harness): `serve` stops when this aborts, as it does on
   * SIGTERM, and listens to no process signal.
   */
  signal?: AbortSignal;
  /** Where `serve` writes its log lines; the process's stdout when absent. */
  log?: LogDestination;
}

const PROCESS_IO: CliIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

/** The command line as `bin/concierge.js` runs it: the exit code, and an error as one line on stderr (code 1). */
export async function run(argv: string[], io: CliIO = PROCESS_IO): Promise<number> {
  try {
    return await main(argv, io);
  } catch (error) {
    io.stderr(`concierge: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

export async function main(argv: string[], io: CliIO = PROCESS_IO): Promise<number> {
  const out = (s: string): void => io.stdout(`${s}\n`);
  const options = Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({
    args: bareBooleans(argv),
    allowPositionals: true,
    strict: true,
    options: {
      ...options,
      json: { type: 'boolean' },
      org: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      id: { type: 'string' },
      'revoke-all': { type: 'boolean' },
      prefix: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    out(USAGE);
    return command === undefined && values.help !== true ? 1 : 0;
  }
  let config;
  try {
    config = resolveConfig(values, io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`concierge: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command === 'serve') return serve(config, out, io);
  const store = await openStore(config.database);
  try {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'migrate':
        out('migrations applied');
        return 0;
      case 'orgs create': {
        if (arg === undefined || arg.trim() === '') throw new Error('orgs create needs a name');
        const { orgID, apiKey } = await createOrgWithKey(store, arg);
        if (values.json === true) out(JSON.stringify({ orgID, apiKey }));
        else out(`Created org ${orgID} (${arg}).\nOrg-API-Key (shown once, store it now): ${apiKey}`);
        return 0;
      }
      case 'orgs list': {
        const orgs = (await store.listOrgs()).map((o) => ({
          orgID: o.id,
          name: o.name,
          createdAt: o.createdAt,
          defaultTier: o.defaultTier,
        }));
        out(
          values.json === true
            ? JSON.stringify(orgs)
            : // The default tier goes last so scripts that cut the first three columns keep working.
              orgs.map((o) => `${o.orgID}\t${o.name}\t${o.createdAt}\t${o.defaultTier}`).join('\n'),
        );
        return 0;
      }
      case 'orgs default-tier': {
        const tier = arg?.trim();
        if (tier === undefined || tier === '' || tier.length > 320)
          throw new Error('orgs default-tier needs a tier (1 to 320 characters)');
        const orgID = await pickOrg(store, values.org);
        if (!(await store.setOrgDefaultTier(orgID, tier))) throw new Error(`no org ${orgID}`);
        if (values.json === true) out(JSON.stringify({ orgID, defaultTier: tier }));
        else out(`Members of ${orgID} without a tier now report ${tier}.`);
        return 0;
      }
      case 'keys create': {
        if (values.prefix !== undefined && !isApiKeyPrefix(values.prefix))
          throw new Error(
            `--prefix must be letters a-z, then _live_ or _sandbox_ (like expys_live_), not ${values.prefix}`,
          );
        const orgID = await pickOrg(store, values.org);
        const key = generateApiKey(values.prefix);
        await store.createApiKey(orgID, key);
        const prefix = apiKeyPrefix(key.key);
        if (values.json === true) out(JSON.stringify({ orgID, keyID: key.id, apiKey: key.key, prefix }));
        else out(`Created key ${key.id} for ${orgID}.\nOrg-API-Key (shown once, store it now): ${key.key}`);
        return 0;
      }
      case 'keys list': {
        const orgID = await pickOrg(store, values.org);
        const keys = await store.listApiKeys(orgID);
        out(
          values.json === true
            ? JSON.stringify(
                keys.map((k) => ({
                  keyID: k.id,
                  hint: k.hint,
                  prefix: apiKeyPrefix(k.hint),
                  createdAt: k.createdAt,
                  revokedAt: k.revokedAt,
                })),
              )
            : // The prefix goes last so scripts that cut the first four columns keep working.
              keys
                .map((k) => `${k.id}\t${k.hint}\t${k.createdAt}\t${k.revokedAt ?? 'active'}\t${apiKeyPrefix(k.hint)}`)
                .join('\n'),
        );
        return 0;
      }
      case 'keys revoke': {
        if (arg === undefined) throw new Error('keys revoke needs a key id');
        const orgID = await pickOrg(store, values.org);
        if (!(await store.revokeApiKey(orgID, arg))) throw new Error(`no active key ${arg} in ${orgID}`);
        out(`Revoked ${arg}.`);
        return 0;
      }
      case 'agents create': {
        const orgID = await pickOrg(store, values.org);
        const email = values.email?.trim().toLowerCase();
        const name = values.name?.trim();
        if (email === undefined || !/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error('agents create needs --email');
        if (name === undefined || name === '') throw new Error('agents create needs --name');
        const role = values.role ?? 'agent';
        if (role !== 'admin' && role !== 'agent') throw new Error("--role is 'admin' or 'agent'");
        const link = newSignInLink();
        const agent = await store.createAgent({ orgID, email, name, role }, link.stored).catch((error: unknown) => {
          throw error instanceof AgentExists ? new Error(`an agent ${email} exists in ${orgID} already`) : error;
        });
        const url = signInURL(linkBase(config), link.token);
        warnIfGuessed(values, io, linkBase(config));
        const expires = new Date(link.stored.expiresAt).toISOString();
        if (values.json === true) out(JSON.stringify({ agent, signInLink: url, signInLinkExpiresAt: expires }));
        else out(`Created ${role} ${agent.id} (${email}).\nOne-time sign-in link (valid 24 hours): ${url}`);
        return 0;
      }
      case 'agents list': {
        const orgID = await pickOrg(store, values.org);
        const agents = await store.listAgents(orgID);
        out(
          values.json === true
            ? JSON.stringify(agents)
            : agents
                .map(
                  (a) => `${a.id}\t${a.email}\t${a.name}\t${a.role}\t${a.disabledAt === null ? 'active' : 'disabled'}`,
                )
                .join('\n'),
        );
        return 0;
      }
      case 'agents disable': {
        const agent = await pickAgent(store, values);
        const updated = await store.updateAgent(agent.orgID, agent.id, { disabled: true });
        // Other instances (PostgreSQL) end the streams at once; any server checks agent streams every heartbeat.
        store.publishEphemeral({ kind: 'agent-revoked', orgID: agent.orgID, agentID: agent.id, sessionID: null });
        if (values.json === true) out(JSON.stringify(updated));
        else out(`Disabled ${agent.id} (${agent.email}); their sessions are ended.`);
        return 0;
      }
      case 'agents link': {
        const agent = await pickAgent(store, values);
        const link = newSignInLink();
        if (!(await store.addSignInLink(agent.orgID, agent.id, link.stored)))
          throw new Error(`${agent.email} is disabled: enable them first`);
        const url = signInURL(linkBase(config), link.token);
        warnIfGuessed(values, io, linkBase(config));
        if (values.json === true)
          out(JSON.stringify({ signInLink: url, signInLinkExpiresAt: new Date(link.stored.expiresAt).toISOString() }));
        else out(`One-time sign-in link for ${agent.email} (valid 24 hours): ${url}`);
        return 0;
      }
      case 'agents sessions': {
        const agent = await pickAgent(store, values);
        if (values['revoke-all'] === true) {
          const revoked = await store.revokeAgentSessions(agent.orgID, agent.id, null);
          store.publishEphemeral({ kind: 'agent-revoked', orgID: agent.orgID, agentID: agent.id, sessionID: null });
          out(values.json === true ? JSON.stringify({ ok: true, revoked }) : `Ended ${revoked} session(s).`);
          return 0;
        }
        const sessions = (await store.listAgentSessions(agent.id)).map((x) => ({
          id: x.id,
          createdAt: x.createdAt,
          lastUsedAt: x.lastUsedAt,
          expiresAt: x.expiresAt,
          userAgent: x.userAgent,
        }));
        out(
          values.json === true
            ? JSON.stringify(sessions)
            : sessions.map((x) => `${x.id}\t${x.createdAt}\t${x.lastUsedAt}\t${x.userAgent ?? ''}`).join('\n'),
        );
        return 0;
      }
      default:
        io.stderr(`concierge: unknown command '${positionals.join(' ')}'\n\n${USAGE}\n`);
        return 2;
    }
  } finally {
    await store.close();
  }
}

/** `--webhooks-allow-http` alone means `--webhooks-allow-http true`: a yes/no option may be given bare. */
function bareBooleans(argv: string[]): string[] {
  const bools = new Set(OPTIONS.filter((o) => o.kind === 'bool').map((o) => `--${o.flag}`));
  const out: string[] = [];
  argv.forEach((arg, i) => {
    out.push(arg);
    const next = argv[i + 1];
    if (bools.has(arg) && (next === undefined || next.startsWith('--'))) out.push('true');
  });
  return out;
}

async function createOrgWithKey(store: Store, name: string): Promise<{ orgID: string; apiKey: string }> {
  const org = await store.createOrg(name);
  const key = generateApiKey();
  await store.createApiKey(org.id, key);
  return { orgID: org.id, apiKey: key.key };
}

/** Where sign-in links point when no request says: `--public-url`, or the address the server listens on. */
function linkBase(config: ReturnType<typeof resolveConfig>, listening?: string): string {
  if (config.publicUrl !== '') return config.publicUrl;
  if (listening !== undefined) return listening;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/**
 * A command that prints a sign-in link runs apart from the server: without `--public-url` or `--port` (or their
 * variables) the link names the default port, which may not be where the server listens. Said on stderr, so the
 * link (or the JSON) on stdout stays what scripts read.
 */
function warnIfGuessed(values: Record<string, unknown>, io: CliIO, base: string): void {
  const given = (key: string) => {
    const option = OPTIONS.find((o) => o.key === key)!;
    return values[option.flag] !== undefined || (io.env[option.env] ?? '') !== '';
  };
  if (given('publicUrl') || given('port')) return;
  io.stderr(
    `concierge: this link assumes the server answers at ${base}. If it does not, run the command again with ` +
      '--public-url <the address agents open> (or --port <the server’s port>), as the server was started.\n',
  );
}

async function pickAgent(
  store: Store,
  values: { org?: string | undefined; email?: string | undefined; id?: string | undefined },
): Promise<AgentRecord> {
  if (values.id !== undefined) {
    const orgs = values.org !== undefined ? [values.org] : (await store.listOrgs()).map((o) => o.id);
    for (const orgID of orgs) {
      const agent = await store.getAgent(orgID, values.id);
      if (agent !== null) return agent;
    }
    throw new Error(`no agent ${values.id}`);
  }
  if (values.email === undefined) throw new Error('name the agent with --email or --id');
  const found = await store.findAgentsByEmail(values.email.trim().toLowerCase(), values.org ?? null);
  if (found.length === 0) throw new Error(`no agent ${values.email}`);
  if (found.length > 1) throw new Error(`${values.email} is an agent in ${found.length} orgs: name one with --org`);
  return found[0]!;
}

async function pickOrg(store: Store, given: string | undefined): Promise<string> {
  if (given !== undefined) {
    if ((await store.getOrg(given)) === null) throw new Error(`no org ${given}`);
    return given;
  }
  const orgs = await store.listOrgs();
  if (orgs.length !== 1) throw new Error(`there are ${orgs.length} orgs: name one with --org`);
  return orgs[0]!.id;
}

/**
 * Validate, bind, then speak: the config was checked before this runs, and both ports are bound before the first
 * org is made, so a busy port or a bad option can never swallow the banner, which is the only place the first
 * Org-API-Key is ever shown.
 */
async function serve(
  config: ReturnType<typeof resolveConfig>,
  out: (line: string) => void,
  io: CliIO,
): Promise<number> {
  const store = await openStore(config.database, {
    migrate: config.migrate,
    ...(config.broker !== '' && { broker: config.broker }),
    sqliteWriter: config.sqliteWriter,
    writeQueueMax: config.sqliteWriteQueue,
    replayRenderers: REPLAY_RENDERERS_URL,
  });
  let app;
  let url: string;
  let metrics;
  try {
    app = await buildApp(config, store, io.log);
    const address = await app.fastify.listen({ port: config.port, host: config.host });
    // The address really listened on: a wildcard bind prints as 0.0.0.0, which says it is reachable from outside.
    url = address;
    metrics = await listenMetrics(app.ctx.metrics, config.metricsHost, config.metricsPort);
  } catch (error) {
    await app?.shutdown().catch(() => {});
    if (app === undefined) await store.close().catch(() => {});
    throw error;
  }
  const firstKey = generateApiKey();
  const firstOrg =
    config.firstRunOrg && (await store.listOrgs()).length === 0
      ? await store.createFirstOrg('default', firstKey)
      : null;
  if (firstOrg !== null) {
    const [orgID, apiKey] = [firstOrg.id, firstKey.key];
    // The first admin agent, so a newcomer goes from `npm start` to a signed-in console in one click.
    const link = newSignInLink();
    await store.createAgent({ orgID, email: FIRST_ADMIN_EMAIL, name: 'Admin', role: 'admin' }, link.stored);
    const line = '='.repeat(78);
    out(
      [
        line,
        ' First start: created the org "default".',
        ` Org ID:      ${orgID}`,
        ` Org-API-Key: ${apiKey}`,
        ' This key is shown only now and stored only as a hash. Keep it in your backend;',
        ' make more with `concierge keys create`.',
        ` Console:     ${signInURL(linkBase(config, url), link.token)}`,
        ` One-time sign-in link for the admin agent ${FIRST_ADMIN_EMAIL}, valid 24 hours: it sets the`,
        ' password. A new one: `concierge agents link --email admin@localhost`.',
        line,
      ].join('\n'),
    );
  }
  app.fastify.log.info({ url, metrics: metrics.url, store: store.kind }, 'listening');
  if (config.passwordCost < DEFAULT_PASSWORD_COST)
    app.fastify.log.warn(
      { passwordCost: config.passwordCost },
      'new agent passwords are hashed below the default scrypt cost: a setting for tests, not for production',
    );
  // Plain lines too, whatever the log level: scripts and tests wait for them.
  out(`concierge metrics on ${metrics.url}`);
  out(`concierge listening on ${url}`);
  const metricsServer = metrics.server;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.fastify.log.info({ signal }, 'shutting down');
      metricsServer.close();
      app.shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          app.fastify.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    if (io.signal !== undefined) {
      if (io.signal.aborted) stop('abort');
      else io.signal.addEventListener('abort', () => stop('abort'), { once: true });
      return;
    }
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

import type pg from 'pg';
import type { MigrationTarget } from '../migrator.js';

/**
 * The PostgreSQL schema, as versioned migrations run by the one migrator (../migrator.ts). Never edit a shipped
 * entry: add a new one.
 *
 * The semantics match the SQLite schema (sqlite-migrations.ts) column for column; PostgreSQL types where they
 * help: timestamptz for instants, bigint for seqs and epoch milliseconds, bytea for secrets.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  /* 1: the initial schema */ `
  CREATE TABLE meta (
    key text PRIMARY KEY,
    value bytea NOT NULL
  );
  CREATE TABLE orgs (
    id text PRIMARY KEY,
    name text NOT NULL,
    signing_secret bytea NOT NULL,
    created_at timestamptz NOT NULL,
    -- The org's event counter: bumped inside every writing transaction, whose row lock orders the org's
    -- writers, so seqs grow in commit order (what keyset paging and SSE resume rely on).
    event_seq bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE api_keys (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs(id),
    hash text NOT NULL UNIQUE,
    hint text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
  );
  CREATE INDEX api_keys_org ON api_keys(org_id);
  CREATE TABLE members (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs(id),
    external_user_id text NOT NULL,
    display_name text,
    email text,
    tier text,
    tokens_valid_after bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (org_id, external_user_id)
  );
  CREATE TABLE conversations (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs(id),
    member_id text NOT NULL REFERENCES members(id),
    type text NOT NULL,
    title text,
    created_at timestamptz NOT NULL,
    last_message_at timestamptz,
    last_seq bigint NOT NULL,
    member_read_seq bigint NOT NULL DEFAULT 0,
    concierge_read_seq bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX conversations_member_activity ON conversations(member_id, last_seq DESC);
  CREATE TABLE messages (
    conversation_id text NOT NULL REFERENCES conversations(id),
    seq bigint NOT NULL,
    id text NOT NULL UNIQUE,
    org_id text NOT NULL,
    type text NOT NULL,
    author_id text NOT NULL,
    body text,
    via text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  );
  CREATE TABLE events (
    org_id text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    member_id text NOT NULL,
    conversation_id text NOT NULL,
    -- JSON kept as text, byte for byte as written, so a replayed event renders exactly like the live one.
    payload text,
    PRIMARY KEY (org_id, seq)
  );
  CREATE INDEX events_member ON events(member_id, seq);
  CREATE TABLE idempotency_keys (
    org_id text NOT NULL,
    principal text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (org_id, principal, key)
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  `,
  /* 2: unread counts kept on the conversation row, so reading one never scans the unread messages */ `
  ALTER TABLE conversations ADD COLUMN member_unread bigint NOT NULL DEFAULT 0;
  UPDATE conversations SET member_unread = (
    SELECT count(*) FROM messages x WHERE x.conversation_id = conversations.id
      AND x.seq > conversations.member_read_seq AND x.type <> 'member'
  );
  `,
  /* 3: spent stream tickets, so a ticket is single-use whatever instance it is shown to (IF NOT EXISTS: a
     database rolled back to an older version by hand may still hold the table) */ `
  CREATE TABLE IF NOT EXISTS spent_tickets (
    nonce text PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  CREATE INDEX IF NOT EXISTS spent_tickets_expiry ON spent_tickets(expires_at);
  `,
  /* 4: the team's side; see the SQLite migration 4. Search: a stored generated tsvector on messages and
     on members ('simple': no language's stemming, like SQLite's unicode61), each with a GIN index, so the writing
     transaction maintains it with no code of ours. messages_org_seq lets a search for a common word walk the org's
     newest messages backwards until it has its window of matches, where the GIN index would fetch every match to
     sort them by seq (the planner picks between the two from the word's frequency; docs/benchmarks.md, search) */ `
  CREATE TABLE agents (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs(id),
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text,
    created_at timestamptz NOT NULL,
    disabled_at timestamptz,
    UNIQUE (org_id, email)
  );
  CREATE INDEX agents_email ON agents(email);
  CREATE TABLE agent_sessions (
    id text PRIMARY KEY,
    agent_id text NOT NULL REFERENCES agents(id),
    org_id text NOT NULL,
    refresh_hash text NOT NULL,
    previous_hash text,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    user_agent text,
    revoked_at timestamptz
  );
  CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);
  CREATE TABLE agent_links (
    token_hash text PRIMARY KEY,
    agent_id text NOT NULL REFERENCES agents(id),
    expires_at bigint NOT NULL,
    used_at timestamptz
  );
  ALTER TABLE conversations
    ADD COLUMN status text NOT NULL DEFAULT 'open',
    ADD COLUMN assignee_id text,
    ADD COLUMN awaiting boolean NOT NULL DEFAULT false,
    ADD COLUMN state_updated_at timestamptz,
    ADD COLUMN state_by_kind text NOT NULL DEFAULT 'member',
    ADD COLUMN state_by_id text NOT NULL DEFAULT '',
    ADD COLUMN created_seq bigint NOT NULL DEFAULT 0;
  UPDATE conversations SET
    awaiting = coalesce((SELECT x.type = 'member' FROM messages x WHERE x.conversation_id = conversations.id
                         ORDER BY x.seq DESC LIMIT 1), false),
    state_updated_at = coalesce(last_message_at, created_at),
    state_by_id = (SELECT m.external_user_id FROM members m WHERE m.id = conversations.member_id);
  UPDATE conversations SET created_seq = e.seq FROM events e
    WHERE e.type = 'conversation' AND e.org_id = conversations.org_id AND e.conversation_id = conversations.id;
  CREATE INDEX conversations_org_activity ON conversations(org_id, last_seq DESC);
  CREATE INDEX conversations_org_state ON conversations(org_id, status, assignee_id, awaiting);
  CREATE TABLE notes (
    id text PRIMARY KEY,
    org_id text NOT NULL,
    conversation_id text NOT NULL REFERENCES conversations(id),
    seq bigint NOT NULL,
    author_id text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX notes_conversation ON notes(conversation_id, seq DESC);
  ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(body, ''))) STORED;
  CREATE INDEX messages_search ON messages USING gin (search);
  CREATE INDEX messages_org_seq ON messages (org_id, seq DESC);
  ALTER TABLE members ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(display_name, '') || ' ' || coalesce(email, '') || ' ' || external_user_id)) STORED;
  CREATE INDEX members_search ON members USING gin (search);
  `,
  /* 5: webhooks: endpoints, and deliveries as a transactional outbox written with their event (IF NOT
     EXISTS: a database rolled back to an older version by hand may still hold the tables) */ `
  CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs(id),
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    disabled_at timestamptz,
    disabled_reason text,
    failing_since bigint
  );
  CREATE INDEX IF NOT EXISTS webhook_endpoints_org ON webhook_endpoints(org_id, created_at);
  CREATE TABLE IF NOT EXISTS webhook_deliveries (
    n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    org_id text NOT NULL,
    endpoint_id text NOT NULL REFERENCES webhook_endpoints(id),
    event_type text NOT NULL,
    data text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at bigint,
    lease_owner text,
    lease_until bigint,
    last_attempt_at bigint,
    last_status_code integer,
    last_latency_ms integer,
    last_error text,
    last_response_body text,
    created_at timestamptz NOT NULL
  );
  -- What the deliverer claims: due, pending rows of one endpoint, oldest first (FOR UPDATE SKIP LOCKED).
  CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE status = 'pending';
  CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, n);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries(created_at);
  `,
  /* 6: the outbox holds each event once (see the SQLite migration 6) */ `
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    org_id text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    data text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, seq)
  );
  ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS outbox_seq bigint NOT NULL DEFAULT 0;
  UPDATE webhook_endpoints w SET outbox_seq = o.event_seq FROM orgs o WHERE o.id = w.org_id;
  `,
  /* 7: the range lease (see the SQLite migration 8) */ `
  ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS range_owner text;
  ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS range_until bigint;
  ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS range_to bigint;
  DROP INDEX IF EXISTS webhook_deliveries_endpoint;
  CREATE INDEX IF NOT EXISTS webhook_deliveries_listing ON webhook_deliveries(endpoint_id, created_at, n);
  `,
  /* 8: one person per agent email; see the SQLite migration 9. An email takes the KDF of its oldest agent with a
     password: the hash less its last "$key" part. */ `
  CREATE TABLE IF NOT EXISTS agent_people (
    email text PRIMARY KEY,
    password_kdf text NOT NULL
  );
  INSERT INTO agent_people (email, password_kdf)
    SELECT DISTINCT ON (email) email, left(password_hash, length(password_hash) - strpos(reverse(password_hash), '$'))
    FROM agents WHERE password_hash IS NOT NULL ORDER BY email, created_at, id
  ON CONFLICT (email) DO NOTHING;
  `,
  /* 9: members as the hosted API has them (see the SQLite migration 10); list_seq comes from a
     sequence, taken at insert */ `
  ALTER TABLE members ADD COLUMN IF NOT EXISTS attributes text;
  ALTER TABLE members ADD COLUMN IF NOT EXISTS archived_at timestamptz;
  ALTER TABLE members ADD COLUMN IF NOT EXISTS list_seq bigint;
  UPDATE members SET list_seq = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM members) AS r WHERE r.id = members.id;
  CREATE SEQUENCE IF NOT EXISTS members_list_seq OWNED BY members.list_seq;
  SELECT setval('members_list_seq', coalesce((SELECT max(list_seq) FROM members), 0) + 1, false);
  ALTER TABLE members ALTER COLUMN list_seq SET DEFAULT nextval('members_list_seq');
  ALTER TABLE members ALTER COLUMN list_seq SET NOT NULL;
  CREATE INDEX IF NOT EXISTS members_listing ON members(org_id, list_seq);
  ALTER TABLE orgs ADD COLUMN IF NOT EXISTS default_tier text NOT NULL DEFAULT 'standard';
  `,
  /* 10: where streams the server ended stopped (see the SQLite migration 11) */ `
  CREATE TABLE IF NOT EXISTS stream_resume_points (
    n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    holder text NOT NULL,
    stream text NOT NULL,
    seq bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE INDEX IF NOT EXISTS stream_resume_points_key ON stream_resume_points(holder, stream, seq);
  CREATE INDEX IF NOT EXISTS stream_resume_points_expiry ON stream_resume_points(expires_at);
  `,
  /* 11: a member's conversations found by member alone (see the SQLite migration 12) */ `
  CREATE INDEX IF NOT EXISTS conversations_member ON conversations(member_id);
  DROP INDEX IF EXISTS conversations_member_activity;
  `,
];

/**
 * Session-level advisory lock key held while migrating ("conc" in ASCII). Advisory locks are per database, so
 * instances of different Concierge databases on one server never wait for each other.
 */
const MIGRATION_LOCK = 0x636f6e63;

/**
 * How the migrator (../migrator.ts) keeps PostgreSQL's schema version: a row per applied version in
 * `concierge_migrations`, and an advisory lock so that instances starting at once migrate one at a time.
 */
export function postgresMigrationTarget(client: pg.ClientBase): MigrationTarget {
  return {
    async version() {
      const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('concierge_migrations') AS t`);
      if (exists.rows[0]?.t === null || exists.rows[0]?.t === undefined) return 0;
      const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM concierge_migrations');
      return r.rows[0]?.v ?? 0;
    },
    async exclusive(fn) {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query(
          `CREATE TABLE IF NOT EXISTS concierge_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
           )`,
        );
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      }
    },
    async apply(version, sql, serverSecret) {
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO concierge_migrations (version) VALUES ($1)', [version]);
        if (serverSecret !== null)
          await client.query(`INSERT INTO meta (key, value) VALUES ('server_secret', $1)`, [serverSecret]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
  };
}

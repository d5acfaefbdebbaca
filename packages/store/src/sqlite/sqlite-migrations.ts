/**
 * The SQLite schema, as versioned migrations run by the one migrator (../migrator.ts), each in one transaction
 * with the bump of `PRAGMA user_version`. Never edit a shipped entry: add a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  /* 1: the initial schema */ `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
  );
  CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    signing_secret BLOB NOT NULL,
    created_at TEXT NOT NULL,
    event_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE INDEX api_keys_org ON api_keys(org_id);
  CREATE TABLE members (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    external_user_id TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    tier TEXT,
    tokens_valid_after INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, external_user_id)
  );
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    member_id TEXT NOT NULL REFERENCES members(id),
    type TEXT NOT NULL,
    title TEXT,
    created_at TEXT NOT NULL,
    last_message_at TEXT,
    last_seq INTEGER NOT NULL,
    member_read_seq INTEGER NOT NULL DEFAULT 0,
    concierge_read_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX conversations_member_activity ON conversations(member_id, last_seq DESC);
  CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    type TEXT NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT,
    via TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE events (
    org_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    member_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    payload TEXT,
    PRIMARY KEY (org_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX events_member ON events(member_id, seq);
  CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, principal, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  `,
  /* 2: unread counts kept on the conversation row, so reading one never scans the unread messages */ `
  ALTER TABLE conversations ADD COLUMN member_unread INTEGER NOT NULL DEFAULT 0;
  UPDATE conversations SET member_unread = (
    SELECT count(*) FROM messages x WHERE x.conversation_id = conversations.id
      AND x.seq > conversations.member_read_seq AND x.type <> 'member'
  );
  `,
  /* 3: spent stream tickets, so a ticket is single-use whatever instance it is shown to (IF NOT EXISTS: a
     database rolled back to an older version by hand may still hold the table) */ `
  CREATE TABLE IF NOT EXISTS spent_tickets (
    nonce TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS spent_tickets_expiry ON spent_tickets(expires_at);
  `,
  /* 4: the team's side: agents and their sessions and sign-in links; each conversation's team state
     (status, assignee, awaiting reply; existing ones open, unassigned, awaiting when their last message is the
     member's); its creation seq (the inbox's snapshot paging); internal notes; full-text search over message text
     (FTS5, with a map from conversation to FTS row so a member's erasure finds their rows; rowids count down, so
     FTS5's natural order is newest first) and member names. Every search word is a prefix query (search-terms.ts);
     `prefix = '2 3 4'` keeps a short prefix one doclist instead of a merge of every word it starts, built in full
     before the first match is returned (docs/benchmarks.md, search) */ `
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    UNIQUE (org_id, email)
  );
  CREATE INDEX agents_email ON agents(email);
  CREATE TABLE agent_sessions (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    org_id TEXT NOT NULL,
    refresh_hash TEXT NOT NULL,
    previous_hash TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    user_agent TEXT,
    revoked_at TEXT
  );
  CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);
  CREATE TABLE agent_links (
    token_hash TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    expires_at INTEGER NOT NULL,
    used_at TEXT
  ) WITHOUT ROWID;
  ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
  ALTER TABLE conversations ADD COLUMN assignee_id TEXT;
  ALTER TABLE conversations ADD COLUMN awaiting INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conversations ADD COLUMN state_updated_at TEXT;
  ALTER TABLE conversations ADD COLUMN state_by_kind TEXT NOT NULL DEFAULT 'member';
  ALTER TABLE conversations ADD COLUMN state_by_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE conversations ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
  UPDATE conversations SET
    awaiting = coalesce((SELECT x.type = 'member' FROM messages x WHERE x.conversation_id = conversations.id
                         ORDER BY x.seq DESC LIMIT 1), 0),
    state_updated_at = coalesce(last_message_at, created_at),
    state_by_id = (SELECT m.external_user_id FROM members m WHERE m.id = conversations.member_id);
  UPDATE conversations SET created_seq = e.seq FROM events e
    WHERE e.type = 'conversation' AND e.org_id = conversations.org_id AND e.conversation_id = conversations.id;
  CREATE INDEX conversations_org_activity ON conversations(org_id, last_seq DESC);
  CREATE INDEX conversations_org_state ON conversations(org_id, status, assignee_id, awaiting);
  CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX notes_conversation ON notes(conversation_id, seq DESC);
  CREATE VIRTUAL TABLE message_search USING fts5(body, conversation_id UNINDEXED, org_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
  CREATE TABLE message_search_rows (
    conversation_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, row)
  ) WITHOUT ROWID;
  INSERT INTO message_search (rowid, body, conversation_id, org_id)
    SELECT -row_number() OVER (ORDER BY created_at, seq), body, conversation_id, org_id FROM messages
    WHERE body IS NOT NULL;
  INSERT INTO message_search_rows (conversation_id, row) SELECT conversation_id, rowid FROM message_search;
  CREATE VIRTUAL TABLE member_search USING fts5(names, member_id UNINDEXED, org_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
  CREATE TABLE member_search_rows (
    member_id TEXT PRIMARY KEY,
    row INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO member_search (names, member_id, org_id)
    SELECT concat_ws(' ', display_name, email, external_user_id), id, org_id FROM members;
  INSERT INTO member_search_rows (member_id, row) SELECT member_id, rowid FROM member_search;
  `,
  /* 5: webhooks: endpoints, and deliveries as a transactional outbox written with their event (IF NOT
     EXISTS: a database rolled back to an older version by hand may still hold the tables) */ `
  CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    disabled_at TEXT,
    disabled_reason TEXT,
    failing_since INTEGER
  );
  CREATE INDEX IF NOT EXISTS webhook_endpoints_org ON webhook_endpoints(org_id, created_at);
  CREATE TABLE IF NOT EXISTS webhook_deliveries (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    last_attempt_at INTEGER,
    last_status_code INTEGER,
    last_latency_ms INTEGER,
    last_error TEXT,
    last_response_body TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE status = 'pending';
  CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, n);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries(created_at);
  `,
  /* 6: the outbox holds each event once (the webhook delivery benchmark): the per-endpoint deliveries are made from
     it by the deliverer's claim, and each endpoint keeps a cursor into it. Endpoints that exist start at their
     org's newest seq: their deliveries until now are already rows. */ `
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    org_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
  ) WITHOUT ROWID;
  ALTER TABLE webhook_endpoints ADD COLUMN outbox_seq INTEGER NOT NULL DEFAULT 0;
  UPDATE webhook_endpoints SET outbox_seq = coalesce((SELECT event_seq FROM orgs WHERE orgs.id = webhook_endpoints.org_id), 0);
  `,
  /* 7: the message search index's rowids count up, newest highest (the send benchmark). They counted down,
     and FTS5 flushes its pending lists to a new segment whenever a rowid is lower than the one before, so every send
     wrote a segment of its own (sqlite-queries.ts, insertMessageSearch). Rebuilt rather than updated in place: rows
     inserted in rising rowid order build the index in few segments. */ `
  CREATE VIRTUAL TABLE message_search_v7 USING fts5(body, conversation_id UNINDEXED, org_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
  INSERT INTO message_search_v7 (rowid, body, conversation_id, org_id)
    SELECT -rowid, body, conversation_id, org_id FROM message_search ORDER BY rowid DESC;
  DROP TABLE message_search;
  ALTER TABLE message_search_v7 RENAME TO message_search;
  UPDATE message_search_rows SET row = -row;
  `,
  /* 8: the range lease (the webhook delivery benchmark): a delivery made from the outbox is written once, with its
     first attempt's outcome, and until then the endpoint's range is what keeps it from being sent twice
     (webhook-records.ts, rangeOwner). Rows are then written in the order first attempts end, not in the order of
     their events, so deliveries are listed by created_at (then n). */ `
  ALTER TABLE webhook_endpoints ADD COLUMN range_owner TEXT;
  ALTER TABLE webhook_endpoints ADD COLUMN range_until INTEGER;
  ALTER TABLE webhook_endpoints ADD COLUMN range_to INTEGER;
  DROP INDEX IF EXISTS webhook_deliveries_endpoint;
  CREATE INDEX IF NOT EXISTS webhook_deliveries_listing ON webhook_deliveries(endpoint_id, created_at, n);
  `,
  /* 9: one person per agent email: the KDF and salt every password set for the email is hashed with, so one KDF
     run at sign-in checks a password against the email's agents in every org (docs/design/agent-people.md). An
     email takes the KDF of its oldest agent with a password (the hash less its last "$key" part), so every password
     keeps working; an agent whose password has another salt (set in another org before this) signs in with its
     orgID until its next password is set. */ `
  CREATE TABLE IF NOT EXISTS agent_people (
    email TEXT PRIMARY KEY,
    password_kdf TEXT NOT NULL
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO agent_people (email, password_kdf)
    SELECT email, rtrim(rtrim(password_hash, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), '$')
    FROM agents a
    WHERE password_hash IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM agents b WHERE b.email = a.email AND b.password_hash IS NOT NULL
        AND (b.created_at < a.created_at OR (b.created_at = a.created_at AND b.id < a.id)));
  `,
  /* 10: members as the hosted API has them: free-form attributes (JSON text, returned as given), an archive mark (an
     offboarded member keeps their history; a PUT restores them), their place in the org's listing (newest highest,
     the keyset of GET /v1/members; existing members in the order they were made), and each org's default tier. */ `
  ALTER TABLE members ADD COLUMN attributes TEXT;
  ALTER TABLE members ADD COLUMN archived_at TEXT;
  ALTER TABLE members ADD COLUMN list_seq INTEGER NOT NULL DEFAULT 0;
  UPDATE members SET list_seq = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM members) AS r WHERE r.id = members.id;
  CREATE INDEX members_listing ON members(org_id, list_seq);
  CREATE INDEX members_list_seq ON members(list_seq);
  ALTER TABLE orgs ADD COLUMN default_tier TEXT NOT NULL DEFAULT 'standard';
  `,
  /* 11: where streams the server ended stopped, kept a minute, so a client that reconnects without Last-Event-ID
     (the hosted API's SDKs) resumes there on any instance; one row per ended stream (docs/sse.md) */ `
  CREATE TABLE IF NOT EXISTS stream_resume_points (
    n INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS stream_resume_points_key ON stream_resume_points(holder, stream, seq);
  CREATE INDEX IF NOT EXISTS stream_resume_points_expiry ON stream_resume_points(expires_at);
  `,
  /* 12: a member's conversations found by member alone. Their list returns all of them (a few), sorted by activity
     in the query, so an index keyed by activity bought nothing there while every send rewrote its entry. */ `
  CREATE INDEX IF NOT EXISTS conversations_member ON conversations(member_id);
  DROP INDEX IF EXISTS conversations_member_activity;
  `,
];

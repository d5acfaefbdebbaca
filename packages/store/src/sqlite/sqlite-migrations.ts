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
];

/** Schema versions of the SQLite backend. Never edit a released migration: add a new one. */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        ascii TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE queue_messages (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        sender TEXT NOT NULL,
        size INTEGER NOT NULL,
        envelope TEXT NOT NULL,
        spooled INTEGER NOT NULL,
        held INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE queue_bodies (
        id TEXT PRIMARY KEY REFERENCES queue_messages(id) ON DELETE CASCADE,
        data BLOB NOT NULL
      );
      CREATE TABLE queue_recipients (
        message_id TEXT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        address TEXT NOT NULL,
        dsn TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        next_attempt_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_reply TEXT,
        PRIMARY KEY (message_id, idx)
      );
      CREATE INDEX queue_recipients_due ON queue_recipients (state, next_attempt_at);
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE queue_recipients ADD COLUMN lease_until INTEGER;
      ALTER TABLE queue_recipients ADD COLUMN lease_node TEXT;
      CREATE INDEX queue_recipients_lease ON queue_recipients (state, lease_until);
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL,
        domain_ascii TEXT NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        display_name TEXT,
        password_hash TEXT NOT NULL,
        quota INTEGER,
        used_bytes INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX accounts_domain ON accounts (domain_ascii);
      CREATE TABLE aliases (
        source_key TEXT NOT NULL,
        source TEXT NOT NULL,
        domain_ascii TEXT NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        target TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (source_key, target)
      );
      CREATE INDEX aliases_domain ON aliases (domain_ascii);
      CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        special_use TEXT,
        uid_validity INTEGER NOT NULL,
        uid_next INTEGER NOT NULL DEFAULT 1,
        highest_modseq INTEGER NOT NULL DEFAULT 1,
        subscribed INTEGER NOT NULL DEFAULT 1,
        UNIQUE (account_id, name)
      );
      CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        data BLOB,
        parsed TEXT NOT NULL,
        refs INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE messages (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        internal_date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob_id TEXT NOT NULL REFERENCES blobs(id),
        prefix BLOB NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE TABLE deliveries (
        queue_id TEXT NOT NULL,
        rcpt_idx INTEGER NOT NULL,
        account_id INTEGER NOT NULL,
        mailbox_id INTEGER,
        uid INTEGER,
        delivered_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, rcpt_idx, account_id)
      );
    `,
  },
];

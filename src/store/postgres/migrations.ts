/**
 * Schema versions of the PostgreSQL backend: the tables of the SQLite backend, with bytea for
 * octets, bigint for times (milliseconds) and sizes, and identity ids that are never reused.
 * JSON is kept as text, exactly as the producer wrote it (jsonb would reorder keys and refuse
 * U+0000). Text compares and sorts by code point (COLLATE "C"), as SQLite's BINARY does, so
 * both backends list in the same order whatever the database's locale. Never edit a released
 * migration: add a new one.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE domains (
        name text COLLATE "C" PRIMARY KEY,
        ascii text COLLATE "C" NOT NULL UNIQUE,
        created_at bigint NOT NULL
      );
      CREATE TABLE queue_messages (
        id text COLLATE "C" PRIMARY KEY,
        created_at bigint NOT NULL,
        sender text COLLATE "C" NOT NULL,
        size bigint NOT NULL,
        envelope text COLLATE "C" NOT NULL,
        spooled boolean NOT NULL,
        held boolean NOT NULL DEFAULT false
      );
      CREATE TABLE queue_bodies (
        id text COLLATE "C" PRIMARY KEY REFERENCES queue_messages(id) ON DELETE CASCADE,
        data bytea NOT NULL
      );
      CREATE TABLE queue_recipients (
        message_id text COLLATE "C" NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
        idx integer NOT NULL,
        address text COLLATE "C" NOT NULL,
        dsn text COLLATE "C" NOT NULL,
        state text COLLATE "C" NOT NULL DEFAULT 'queued',
        next_attempt_at bigint NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_reply text COLLATE "C",
        lease_until bigint,
        lease_node text COLLATE "C",
        PRIMARY KEY (message_id, idx)
      );
      CREATE INDEX queue_recipients_due ON queue_recipients (next_attempt_at) WHERE state IN ('queued', 'deferred');
      CREATE INDEX queue_recipients_lease ON queue_recipients (lease_until) WHERE state = 'inflight';
      CREATE TABLE accounts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text COLLATE "C" NOT NULL UNIQUE,
        address text COLLATE "C" NOT NULL,
        domain_ascii text COLLATE "C" NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        display_name text COLLATE "C",
        password_hash text COLLATE "C" NOT NULL,
        quota bigint,
        used_bytes bigint NOT NULL DEFAULT 0,
        enabled boolean NOT NULL DEFAULT true,
        created_at bigint NOT NULL
      );
      CREATE INDEX accounts_domain ON accounts (domain_ascii);
      CREATE TABLE aliases (
        source_key text COLLATE "C" NOT NULL,
        source text COLLATE "C" NOT NULL,
        domain_ascii text COLLATE "C" NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        target text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (source_key, target)
      );
      CREATE INDEX aliases_domain ON aliases (domain_ascii);
      CREATE TABLE mailboxes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text COLLATE "C" NOT NULL,
        special_use text COLLATE "C",
        uid_validity bigint NOT NULL,
        uid_next bigint NOT NULL DEFAULT 1,
        highest_modseq bigint NOT NULL DEFAULT 1,
        subscribed boolean NOT NULL DEFAULT true,
        UNIQUE (account_id, name)
      );
      CREATE TABLE blobs (
        id text COLLATE "C" PRIMARY KEY,
        size bigint NOT NULL,
        data bytea,
        parsed text COLLATE "C" NOT NULL,
        refs bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE messages (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid bigint NOT NULL,
        modseq bigint NOT NULL,
        flags text COLLATE "C" NOT NULL DEFAULT '',
        internal_date bigint NOT NULL,
        size bigint NOT NULL,
        blob_id text COLLATE "C" NOT NULL REFERENCES blobs(id),
        prefix bytea NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE INDEX messages_blob ON messages (blob_id);
      CREATE TABLE deliveries (
        queue_id text COLLATE "C" NOT NULL,
        rcpt_idx integer NOT NULL,
        account_id bigint NOT NULL,
        mailbox_id bigint,
        uid bigint,
        delivered_at bigint NOT NULL,
        PRIMARY KEY (queue_id, rcpt_idx, account_id)
      );
      CREATE INDEX deliveries_account ON deliveries (queue_id, account_id);
    `,
  },
];

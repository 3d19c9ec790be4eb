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
  {
    // IMAP (subscriptions, expunge history for QRESYNC), submission (SCRAM keys, send-as,
    // sending limits and counters), the shared authentication lockout, and DKIM keys.
    version: 3,
    sql: `
      ALTER TABLE accounts ADD COLUMN scram_sha256 text COLLATE "C";
      ALTER TABLE accounts ADD COLUMN send_as text COLLATE "C" NOT NULL DEFAULT '[]';
      ALTER TABLE accounts ADD COLUMN send_limits text COLLATE "C";
      CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
      CREATE TABLE subscriptions (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, name)
      );
      INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed;
      CREATE TABLE expunged (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid bigint NOT NULL,
        modseq bigint NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
      -- The highest UIDVALIDITY an account's mailboxes had, deleted ones included: a name created
      -- again gets a greater one (RFC 9051 2.3.1.1).
      CREATE TABLE uid_validity_used (
        account_id bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        highest bigint NOT NULL
      );
      CREATE TABLE auth_failures (
        key text COLLATE "C" PRIMARY KEY,
        failures integer NOT NULL,
        window_start bigint NOT NULL,
        last_failure_at bigint NOT NULL,
        blocked_until bigint,
        level integer NOT NULL DEFAULT 0
      );
      CREATE TABLE send_counters (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        bucket text COLLATE "C" NOT NULL,
        messages integer NOT NULL DEFAULT 0,
        recipients integer NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, bucket)
      );
      CREATE TABLE dkim_keys (
        domain_ascii text COLLATE "C" NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        selector text COLLATE "C" NOT NULL,
        algorithm text COLLATE "C" NOT NULL,
        private_key text COLLATE "C" NOT NULL,
        public_key text COLLATE "C" NOT NULL,
        state text COLLATE "C" NOT NULL DEFAULT 'active',
        created_at bigint NOT NULL,
        retire_at bigint,
        PRIMARY KEY (domain_ascii, selector)
      );
      -- Mailbox status kept in the row (as Dovecot's index header does), maintained by every write
      -- that adds, removes or re-flags messages, under the mailbox row lock: STATUS and SELECT read
      -- it without a scan. Unseen: no \Seen flag, compared case-insensitively.
      ALTER TABLE mailboxes ADD COLUMN messages bigint NOT NULL DEFAULT 0,
        ADD COLUMN unseen bigint NOT NULL DEFAULT 0,
        ADD COLUMN size bigint NOT NULL DEFAULT 0;
      UPDATE mailboxes b SET messages = s.messages, unseen = s.unseen, size = s.size
      FROM (SELECT mailbox_id, count(*) AS messages,
          count(*) FILTER (WHERE strpos(' ' || lower(flags) || ' ', ' \\seen ') = 0) AS unseen,
          coalesce(sum(size), 0) AS size
        FROM messages GROUP BY mailbox_id) s
      WHERE b.id = s.mailbox_id;
    `,
  },
  {
    // Queue administration and DSNs: a message's delay DSN is sent once.
    version: 4,
    sql: `
      ALTER TABLE queue_messages ADD COLUMN delay_notified boolean NOT NULL DEFAULT false;
    `,
  },
  {
    // Anti-abuse: expiring keys shared by every node (greylisting triplets, per-network pass counts).
    version: 5,
    sql: `
      CREATE TABLE kv_entries (
        key text PRIMARY KEY,
        value text NOT NULL,
        counter bigint NOT NULL DEFAULT 0,
        expires_at bigint NOT NULL
      );
      CREATE INDEX kv_entries_expires ON kv_entries (expires_at);
    `,
  },
  {
    // DMARC aggregate reports (RFC 7489 7.2): received reports with their rows; our evaluations to report.
    version: 6,
    sql: `
      CREATE TABLE dmarc_reports (
        id bigserial PRIMARY KEY,
        org_name text NOT NULL,
        report_id text NOT NULL,
        email text NOT NULL,
        domain text NOT NULL,
        date_begin bigint NOT NULL,
        date_end bigint NOT NULL,
        policy text NOT NULL,
        source text NOT NULL,
        received_at bigint NOT NULL,
        UNIQUE (org_name, report_id)
      );
      CREATE INDEX dmarc_reports_domain ON dmarc_reports (domain, date_end);
      CREATE TABLE dmarc_report_records (
        report_id bigint NOT NULL REFERENCES dmarc_reports (id) ON DELETE CASCADE,
        idx integer NOT NULL,
        source_ip text NOT NULL,
        count bigint NOT NULL,
        disposition text NOT NULL,
        dkim text NOT NULL,
        spf text NOT NULL,
        header_from text NOT NULL,
        details text NOT NULL,
        PRIMARY KEY (report_id, idx)
      );
      CREATE TABLE dmarc_events (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        domain text NOT NULL,
        data text NOT NULL
      );
      CREATE INDEX dmarc_events_at ON dmarc_events (at);
    `,
  },
  {
    // DSNs that remote MTAs sent about messages we delivered, by our queue id (RFC 3464).
    version: 7,
    sql: `
      CREATE TABLE delivery_events (
        id bigserial PRIMARY KEY,
        queue_id text NOT NULL,
        recipient text NOT NULL,
        action text NOT NULL,
        status text NOT NULL,
        diagnostic text,
        remote_mta text,
        at bigint NOT NULL
      );
      CREATE INDEX delivery_events_queue ON delivery_events (queue_id, at);
    `,
  },
];

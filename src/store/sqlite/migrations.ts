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
  {
    // IMAP (subscriptions, expunge history for QRESYNC), submission (SCRAM keys, send-as,
    // sending limits and counters), the shared authentication lockout, and DKIM keys.
    version: 3,
    sql: `
      ALTER TABLE accounts ADD COLUMN scram_sha256 TEXT;
      ALTER TABLE accounts ADD COLUMN send_as TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE accounts ADD COLUMN send_limits TEXT;
      CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
      CREATE INDEX messages_blob ON messages (blob_id);
      CREATE TABLE subscriptions (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (account_id, name)
      );
      INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed = 1;
      CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
      -- The highest UIDVALIDITY an account's mailboxes had, deleted ones included: a name created
      -- again gets a greater one (RFC 9051 2.3.1.1).
      CREATE TABLE uid_validity_used (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        highest INTEGER NOT NULL
      );
      CREATE TABLE auth_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL,
        blocked_until INTEGER,
        level INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE send_counters (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        bucket TEXT NOT NULL,
        messages INTEGER NOT NULL DEFAULT 0,
        recipients INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, bucket)
      );
      CREATE TABLE dkim_keys (
        domain_ascii TEXT NOT NULL REFERENCES domains(ascii) ON DELETE CASCADE,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        private_key TEXT NOT NULL,
        public_key TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'active',
        created_at INTEGER NOT NULL,
        retire_at INTEGER,
        PRIMARY KEY (domain_ascii, selector)
      );
      -- Mailbox status kept in the row (as Dovecot's index header does), maintained by every write
      -- that adds, removes or re-flags messages: STATUS and SELECT read it without a scan.
      -- Unseen: no \Seen flag, compared case-insensitively (LIKE is, for ASCII).
      ALTER TABLE mailboxes ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailboxes ADD COLUMN unseen INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailboxes ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
      UPDATE mailboxes SET
        messages = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id),
        unseen = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id AND (' ' || m.flags || ' ') NOT LIKE '% \\Seen %'),
        size = (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE m.mailbox_id = mailboxes.id);
    `,
  },
  {
    // Queue administration and DSNs: a message's delay DSN is sent once.
    version: 4,
    sql: `
      ALTER TABLE queue_messages ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    // Anti-abuse: expiring keys shared by every node (greylisting triplets, per-network pass counts).
    version: 5,
    sql: `
      CREATE TABLE kv_entries (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        counter INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX kv_entries_expires ON kv_entries (expires_at);
    `,
  },
  {
    // DMARC aggregate reports (RFC 7489 7.2): received reports with their rows; our evaluations to report.
    version: 6,
    sql: `
      CREATE TABLE dmarc_reports (
        id INTEGER PRIMARY KEY,
        org_name TEXT NOT NULL,
        report_id TEXT NOT NULL,
        email TEXT NOT NULL,
        domain TEXT NOT NULL,
        date_begin INTEGER NOT NULL,
        date_end INTEGER NOT NULL,
        policy TEXT NOT NULL,
        source TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (org_name, report_id)
      );
      CREATE INDEX dmarc_reports_domain ON dmarc_reports (domain, date_end);
      CREATE TABLE dmarc_report_records (
        report_id INTEGER NOT NULL REFERENCES dmarc_reports (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        source_ip TEXT NOT NULL,
        count INTEGER NOT NULL,
        disposition TEXT NOT NULL,
        dkim TEXT NOT NULL,
        spf TEXT NOT NULL,
        header_from TEXT NOT NULL,
        details TEXT NOT NULL,
        PRIMARY KEY (report_id, idx)
      );
      CREATE TABLE dmarc_events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        domain TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX dmarc_events_at ON dmarc_events (at);
    `,
  },
  {
    // DSNs that remote MTAs sent about messages we delivered, by our queue id (RFC 3464).
    version: 7,
    sql: `
      CREATE TABLE delivery_events (
        id INTEGER PRIMARY KEY,
        queue_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        diagnostic TEXT,
        remote_mta TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX delivery_events_queue ON delivery_events (queue_id, at);
    `,
  },
];

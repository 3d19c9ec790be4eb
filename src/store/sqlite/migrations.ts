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
];

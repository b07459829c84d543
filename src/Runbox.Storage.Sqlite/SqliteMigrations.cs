namespace Runbox.Storage.Sqlite;

/// <summary>
/// The schema, as an ordered list: migration i brings the database to version i + 1. Never edit a shipped entry;
/// append a new one. Times are INTEGER microseconds since the Unix epoch (UTC), the precision PostgreSQL keeps too.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        """
        CREATE TABLE jobs (
            id                TEXT    NOT NULL PRIMARY KEY,
            owner             TEXT    NOT NULL,
            status            TEXT    NOT NULL,
            runtime           TEXT    NOT NULL,
            max_attempts      INTEGER NOT NULL,
            spec              TEXT    NOT NULL,
            created_at        INTEGER NOT NULL,
            started_at        INTEGER,
            finished_at       INTEGER,
            attempt           INTEGER NOT NULL DEFAULT 0,
            worker            TEXT,
            lease_token       TEXT,
            lease_expires_at  INTEGER,
            cancel_requested  INTEGER NOT NULL DEFAULT 0,
            exit_code         INTEGER,
            signal            INTEGER,
            limit_exceeded    TEXT    NOT NULL DEFAULT 'none',
            stdout            BLOB,
            stderr            BLOB,
            stdout_truncated  INTEGER NOT NULL DEFAULT 0,
            stderr_truncated  INTEGER NOT NULL DEFAULT 0,
            wall_ms           INTEGER NOT NULL DEFAULT 0,
            cpu_user_ms       INTEGER NOT NULL DEFAULT 0,
            cpu_system_ms     INTEGER NOT NULL DEFAULT 0,
            peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
            error             TEXT
        );
        CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);
        CREATE INDEX jobs_owner_newest ON jobs (owner, created_at DESC, id DESC);
        CREATE INDEX jobs_queue ON jobs (status, created_at, id);
        CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);

        CREATE TABLE log_lines (
            job_id  TEXT    NOT NULL,
            seq     INTEGER NOT NULL,
            ts      INTEGER NOT NULL,
            stream  TEXT    NOT NULL,
            text    TEXT    NOT NULL,
            PRIMARY KEY (job_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE api_keys (
            id          TEXT    NOT NULL PRIMARY KEY,
            name        TEXT    NOT NULL,
            hash        TEXT    NOT NULL UNIQUE,
            is_admin    INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            revoked_at  INTEGER
        );
        """,
        // 2: runtimes (the runtime manager's records).
        """
        CREATE TABLE runtimes (
            name        TEXT    NOT NULL PRIMARY KEY,
            state       TEXT    NOT NULL,
            document    TEXT    NOT NULL,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        """,
    ];
}

namespace Runbox.Storage.Postgres;

/// <summary>
/// The schema, as an ordered list: migration i brings the database to version i + 1. Never edit a shipped entry;
/// append a new one. Ids and names sort bytewise (COLLATE "C") so paging does not depend on the server's locale.
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>Taken with pg_advisory_xact_lock around migrating, so nodes starting together migrate one by one.</summary>
    public const long LockKey = 0x52756e626f78; // "Runbox"

    public static readonly IReadOnlyList<string> All =
    [
        """
        CREATE TABLE jobs (
            id                text COLLATE "C" NOT NULL PRIMARY KEY,
            owner             text        NOT NULL,
            status            text        NOT NULL,
            runtime           text        NOT NULL,
            max_attempts      integer     NOT NULL,
            -- json, not jsonb: kept verbatim, and it accepts \u0000, which jsonb refuses.
            spec              json        NOT NULL,
            -- The script with NUL removed (text cannot hold it), for the list's text filter.
            script_text       text,
            created_at        timestamptz NOT NULL,
            started_at        timestamptz,
            finished_at       timestamptz,
            attempt           integer     NOT NULL DEFAULT 0,
            worker            text,
            lease_token       text,
            lease_expires_at  timestamptz,
            cancel_requested  boolean     NOT NULL DEFAULT false,
            exit_code         integer,
            signal            integer,
            limit_exceeded    text        NOT NULL DEFAULT 'none',
            stdout            bytea,
            stderr            bytea,
            stdout_truncated  boolean     NOT NULL DEFAULT false,
            stderr_truncated  boolean     NOT NULL DEFAULT false,
            wall_ms           bigint      NOT NULL DEFAULT 0,
            cpu_user_ms       bigint      NOT NULL DEFAULT 0,
            cpu_system_ms     bigint      NOT NULL DEFAULT 0,
            peak_memory_bytes bigint      NOT NULL DEFAULT 0,
            error             text
        );
        CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);
        CREATE INDEX jobs_owner_newest ON jobs (owner, created_at DESC, id DESC);
        CREATE INDEX jobs_queue ON jobs (created_at, id) WHERE status = 'queued';
        CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';

        CREATE TABLE log_lines (
            job_id  text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            seq     bigint      NOT NULL,
            ts      timestamptz NOT NULL,
            stream  text        NOT NULL,
            -- UTF-8 bytes: a line may hold NUL, which text cannot.
            line    bytea       NOT NULL,
            PRIMARY KEY (job_id, seq)
        );

        CREATE TABLE artifacts (
            job_id      text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            name        text COLLATE "C" NOT NULL,
            size        bigint      NOT NULL,
            content     bytea       NOT NULL,
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (job_id, name)
        );

        CREATE TABLE api_keys (
            id          text COLLATE "C" NOT NULL PRIMARY KEY,
            name        text        NOT NULL,
            hash        text        NOT NULL UNIQUE,
            is_admin    boolean     NOT NULL,
            created_at  timestamptz NOT NULL,
            revoked_at  timestamptz
        );
        """,
        // 2: runtimes (the runtime manager's records).
        """
        CREATE TABLE runtimes (
            name        text COLLATE "C" NOT NULL PRIMARY KEY,
            state       text        NOT NULL,
            document    json        NOT NULL,
            created_at  timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL
        );
        """,
    ];
}

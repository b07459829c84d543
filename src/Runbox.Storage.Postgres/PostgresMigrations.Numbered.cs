namespace Runbox.Storage.Postgres;

internal static partial class PostgresMigrations
{
    /// <summary>
    /// Migrations with an explicit version, for features built in parallel with others that take the next positional
    /// number: a version missing in between is applied whenever it appears, since each one touches its own tables.
    /// </summary>
    public static readonly IReadOnlyDictionary<int, string> Numbered = new Dictionary<int, string>
    {
        [3] = """
            CREATE TABLE workers (
                name          text COLLATE "C" NOT NULL PRIMARY KEY,
                slots         integer     NOT NULL,
                busy          integer     NOT NULL,
                runtimes      text[]      NOT NULL,
                started_at    timestamptz NOT NULL,
                last_seen_at  timestamptz NOT NULL
            );
            """,
        // 4: retention finds ended jobs by when they finished.
        [4] = """
            CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
            """,
        // 5: a line the job left unfinished (no newline yet, or a piece of an overlong line) is told apart.
        [5] = """
            ALTER TABLE log_lines ADD COLUMN ended boolean NOT NULL DEFAULT true;
            """,
        // 6: which process holds a worker's name, so a second node given the same name is refused at its start.
        [6] = """
            ALTER TABLE workers ADD COLUMN instance text NOT NULL DEFAULT '';
            """,
        // 7: a log line's job is checked once a batch, not once a line. The foreign key's check (a query per inserted
        // row) was 40% of the server's work appending a batch; AppendLogsAsync now locks the job's row once (FOR KEY
        // SHARE, as that check did, so a delete waits for the batch or the batch finds no job), and this trigger deletes
        // a deleted job's lines, as ON DELETE CASCADE did. Per row, so each deletion uses the (job_id, seq) key.
        [7] = """
            ALTER TABLE log_lines DROP CONSTRAINT log_lines_job_id_fkey;
            CREATE FUNCTION runbox_delete_job_lines() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                DELETE FROM log_lines WHERE job_id = OLD.id;
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER jobs_delete_lines AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION runbox_delete_job_lines();
            """,
        // 8: a job's spec less its submission (script, files, args, stdin, env: up to 10 MB), which lists and status reads
        // select instead of the spec, so they never read the script from its TOAST. Not filled for the rows already there
        // (every node's start would wait while each spec was read and parsed): those are read whole, as before, and cleared
        // by the store; jsonb could not have taken apart one holding \u0000 anyway.
        [8] = """
            ALTER TABLE jobs ADD COLUMN spec_summary json;
            """,
    };

    /// <summary>Every migration this build knows, by version: the positional list (1..n) and the numbered ones.</summary>
    public static IReadOnlyList<(int Version, string Sql)> Known()
    {
        var known = All.Select((sql, index) => (Version: index + 1, Sql: sql)).ToList();
        foreach (var (version, sql) in Numbered)
        {
            if (known.Any(m => m.Version == version))
            {
                throw new InvalidOperationException($"Two migrations claim version {version}; renumber one.");
            }
            known.Add((version, sql));
        }
        return known.OrderBy(m => m.Version).ToList();
    }
}

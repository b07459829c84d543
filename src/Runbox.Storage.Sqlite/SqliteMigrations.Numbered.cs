namespace Runbox.Storage.Sqlite;

internal static partial class SqliteMigrations
{
    /// <summary>
    /// Migrations with an explicit version, for features built in parallel with others that take the next positional
    /// number: a version missing in between is applied whenever it appears, since each one touches its own tables.
    /// </summary>
    public static readonly IReadOnlyDictionary<int, string> Numbered = new Dictionary<int, string>
    {
        [3] = """
            CREATE TABLE workers (
                name          TEXT    NOT NULL PRIMARY KEY,
                slots         INTEGER NOT NULL,
                busy          INTEGER NOT NULL,
                runtimes      TEXT    NOT NULL,
                started_at    INTEGER NOT NULL,
                last_seen_at  INTEGER NOT NULL
            );
            """,
        // 4: retention finds ended jobs by when they finished.
        [4] = """
            CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
            """,
        // 5: a line the job left unfinished (no newline yet, or a piece of an overlong line) is told apart.
        [5] = """
            ALTER TABLE log_lines ADD COLUMN ended INTEGER NOT NULL DEFAULT 1;
            """,
        // 6: which process holds a worker's name, so a second node given the same name is refused at its start.
        [6] = """
            ALTER TABLE workers ADD COLUMN instance TEXT NOT NULL DEFAULT '';
            """,
        // 8 (7 is PostgreSQL's alone): a job's spec less its submission (script, files, args, stdin, env: up to 10 MB),
        // which lists and status reads select instead of the spec, so they never take the script apart. Not filled for
        // the rows already there: that rewrote every job row, script and all, inside the start's write transaction, so
        // those take it apart as they are read.
        [8] = """
            ALTER TABLE jobs ADD COLUMN spec_summary TEXT;
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

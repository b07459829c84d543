namespace Runbox.Server.Configuration;

/// <summary>
/// Everything <c>runbox serve</c> can be told, bound from the "Runbox" section of appsettings.json,
/// <c>RUNBOX_*</c> variables and command-line flags (<c>--data</c>, <c>--workers</c>, <c>--Runbox:Key=value</c>).
/// </summary>
public sealed class RunboxOptions
{
    public const string Section = "Runbox";

    /// <summary>Holds the SQLite database, artifacts, admin.key and the webhook secret.</summary>
    public string DataDirectory { get; set; } = "runbox-data";

    /// <summary>Jobs run at once by the embedded worker.</summary>
    public int Workers { get; set; } = 2;

    /// <summary>Run the API only; jobs wait for a worker elsewhere.</summary>
    public bool NoWorker { get; set; }

    /// <summary>
    /// A PostgreSQL connection string (<c>Host=...;Database=...</c>) shared by every node; empty means the embedded
    /// SQLite store in the data folder (one node).
    /// </summary>
    public string? Store { get; set; }

    /// <summary>Run the worker only (<c>runbox worker</c>): no API, just <c>/healthz</c> and <c>/readyz</c>.</summary>
    public bool WorkerOnly { get; set; }

    /// <summary>
    /// This node's name in the workers registry and on the jobs it claims. Stable across restarts, so a restarted
    /// node ends the jobs its previous run left behind at once. Default: host name and a hash of the data folder.
    /// </summary>
    public string? NodeName { get; set; }

    /// <summary>
    /// One node owns the store (SQLite): expired leases are looked for every second, so jobs a killed process left
    /// running end as "worker lost" as soon as their lease runs out.
    /// </summary>
    public bool SingleNode { get; set; } = true;

    /// <summary>Where the engine puts job directories and zygote sockets; derived from the data folder when empty.</summary>
    public string? WorkRoot { get; set; }

    /// <summary>
    /// How long a claim holds a job without renewal (renewed every third of it). A job whose process was killed
    /// ends as "worker lost" within this time after the next start (single node) or on another node.
    /// </summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary>On stop, how long running jobs may go on before they are cancelled.</summary>
    public double DrainSeconds { get; set; } = 10;

    /// <summary>How often an idle worker looks at the queue when no notification arrives.</summary>
    public double PollSeconds { get; set; } = 1;

    /// <summary>Longest answer to <c>POST /api/v1/jobs?wait=true</c>; past it the job is returned still running.</summary>
    public double MaxWaitSeconds { get; set; } = 60;

    /// <summary>
    /// After this many seconds without an event, a server-sent events stream gets a <c>: keep-alive</c> comment, so
    /// proxies and browsers do not drop the stream of a job that prints nothing for a while.
    /// </summary>
    public double StreamKeepAliveSeconds { get; set; } = 15;

    /// <summary>
    /// Ended jobs, with their logs and artifacts, are deleted this many days after they end; 0 keeps them for good.
    /// Fractions are allowed (0.5 is twelve hours).
    /// </summary>
    public double RetentionDays { get; set; }

    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// Connections each address (every <c>--urls</c> one, the socket) holds open at once, live streams included; one
    /// past it is closed as soon as it is accepted, without an answer. A WebSocket leaves the count once upgraded.
    /// </summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary>
    /// Connections one client (an IPv4 address, an IPv6 /64) holds open at once over HTTP, all <c>--urls</c> addresses
    /// together, so that no one client can take all of <see cref="MaxConnections"/>; the socket is not counted. One past
    /// it is closed unanswered.
    /// </summary>
    public int MaxConnectionsPerClient { get; set; } = 100;

    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>Whether a job that asks for network gets it.</summary>
    public bool AllowNetwork { get; set; }

    public JobMaximums Maximums { get; set; } = new();

    public RateLimitOptions RateLimit { get; set; } = new();

    public WebhookOptions Webhooks { get; set; } = new();

    /// <summary>Where runtimes' packages come from (index URL, local wheel folder, offline).</summary>
    public Runtimes.PackageOptions Packages { get; set; } = new();

    /// <summary>The JSON-RPC Unix socket (mode 0660: the file's permission is the authentication); "none" to listen on none.</summary>
    public string? Socket { get; set; }
}

/// <summary>The largest limits a job may ask for; larger requests are refused with these numbers.</summary>
public sealed class JobMaximums
{
    public double TimeoutSeconds { get; set; } = 600;

    public double CpuSeconds { get; set; } = 600;

    public long MemoryMb { get; set; } = 4096;

    public int Processes { get; set; } = 1024;

    public long OutputBytes { get; set; } = 64L * 1024 * 1024;

    public long FileSizeMb { get; set; } = 1024;

    /// <summary>Largest working folder a job may ask for; it is a tmpfs, so its files take the host's memory.</summary>
    public long DiskMb { get; set; } = 4096;

    public int Args { get; set; } = 256;

    public int EnvVars { get; set; } = 256;

    /// <summary>Longest single argument or environment value, in characters.</summary>
    public int ValueChars { get; set; } = 32 * 1024;

    public int Files { get; set; } = 256;

    /// <summary>Largest <c>max_attempts</c> a job may ask for.</summary>
    public int Attempts { get; set; } = 10;
}

public sealed class RateLimitOptions
{
    /// <summary>Requests one key may make per second, sustained.</summary>
    public int RequestsPerSecond { get; set; } = 100;

    /// <summary>Requests one key may make in a burst above the sustained rate.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Live streams (SSE, WebSocket) one key may hold open at once.</summary>
    public int StreamsPerKey { get; set; } = 64;
}

public sealed class WebhookOptions
{
    /// <summary>Let callback URLs point at loopback and private addresses (tests, trusted networks).</summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>HMAC key for the signature header; generated into the data folder when empty.</summary>
    public string? Secret { get; set; }

    public int MaxAttempts { get; set; } = 5;

    /// <summary>Delay before the first retry; doubled for each one after.</summary>
    public double InitialBackoffSeconds { get; set; } = 1;

    public double TimeoutSeconds { get; set; } = 10;
}

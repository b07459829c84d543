using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// Real <c>runbox serve --store</c> and <c>runbox worker --store</c> processes on 127.0.0.1 sharing one fresh PostgreSQL
/// database, each with its own data folder; all killed and removed on dispose.
/// </summary>
public sealed class ClusterNodes(PostgresFixture postgres, ITestOutputHelper output, double leaseSeconds = ClusterNodes.ShortLease) : IAsyncDisposable
{
    /// <summary>
    /// Short, so a killed worker's job is rescued within seconds; renewed every 2 s. (3 s was too short under load: a
    /// busy CI machine running browser tests beside these once held a renewal back 3 s, and a live job ran twice.)
    /// </summary>
    public const double ShortLease = 6;

    private readonly List<ServeProcess> _processes = [];
    private readonly List<TempFolder> _folders = [];
    private string? _store;

    public string Store => _store ?? throw new InvalidOperationException("call CreateDatabaseAsync first");

    public string? AdminKey { get; private set; }

    public async Task CreateDatabaseAsync()
    {
        postgres.Require();
        _store = await postgres.Server.NewDatabaseAsync("runbox-node");
    }

    /// <summary>An API node without a worker; the first one makes the admin key.</summary>
    public Task<ServeProcess> StartApiAsync(params string[] extra) => StartApiAsync(null, extra);

    /// <summary>An API node without a worker, with <paramref name="environment"/> in its environment.</summary>
    public async Task<ServeProcess> StartApiAsync(IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        var data = NewFolder();
        var port = ServeProcess.FreePort();
        var node = await ServeProcess.StartCommandAsync(
            ["serve", "--urls", $"http://127.0.0.1:{port}", "--data", data, "--store", Store, "--no-worker", .. Common, .. extra],
            port, output, "api", environment);
        _processes.Add(node);
        var keyFile = Path.Combine(data, "admin.key");
        if (AdminKey is null && File.Exists(keyFile))
        {
            AdminKey = (await File.ReadAllTextAsync(keyFile)).Trim();
        }
        return node;
    }

    public Task<ServeProcess> StartWorkerAsync(string name, int slots, params string[] extra) => StartWorkerInAsync(NewFolder(), name, slots, null, extra);

    /// <summary>
    /// A worker node on <paramref name="data"/> (a folder of <see cref="NewFolder"/>, to start a node again on the data it
    /// left), with <paramref name="environment"/> in its environment.
    /// </summary>
    public async Task<ServeProcess> StartWorkerInAsync(string data, string name, int slots, IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        var port = ServeProcess.FreePort();
        var node = await ServeProcess.StartCommandAsync(
            ["worker", "--urls", $"http://127.0.0.1:{port}", "--data", data, "--store", Store, "--name", name,
                "--workers", slots.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Common, .. extra],
            port, output, name, environment);
        _processes.Add(node);
        return node;
    }

    /// <summary>A worker node that must refuse to start: its exit code and stderr.</summary>
    public Task<(int ExitCode, string Stderr)> RunWorkerToEndAsync(string name, int slots, params string[] extra) =>
        ServeProcess.RunToEndAsync(
            ["worker", "--urls", $"http://127.0.0.1:{ServeProcess.FreePort()}", "--data", NewFolder(), "--store", Store, "--name", name,
                "--workers", slots.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Common, .. extra],
            output);

    public HttpClient Client(ServeProcess api) => api.Client(AdminKey ?? throw new InvalidOperationException("no API node made the admin key"));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        foreach (var folder in _folders)
        {
            folder.Dispose();
        }
    }

    private string[] Common => [$"--Runbox:LeaseSeconds={leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", "--Runbox:PollSeconds=1"];

    /// <summary>A data folder removed on dispose.</summary>
    public string NewFolder()
    {
        var folder = new TempFolder();
        _folders.Add(folder);
        return folder.Path;
    }
}

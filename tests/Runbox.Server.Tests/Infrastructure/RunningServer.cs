using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runbox.Server.Auth;
using Runbox.Server.Http;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>The real server on a real Kestrel at 127.0.0.1 and a free port, with its own data folder.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly TempFolder _data;
    private bool _ownsData = true;
    private readonly List<IDisposable> _owned = [];

    private RunningServer(WebApplication app, TempFolder data, XunitLoggerProvider logs, Uri address, string adminKey)
    {
        App = app;
        _data = data;
        Logs = logs;
        Address = address;
        AdminKey = adminKey;
        Admin = Client(adminKey);
    }

    public WebApplication App { get; }

    public XunitLoggerProvider Logs { get; }

    public Uri Address { get; }

    public string AdminKey { get; }

    public string DataDirectory => _data.Path;

    /// <summary>A client with the admin key.</summary>
    public HttpClient Admin { get; }

    /// <summary>Starts a server; on <paramref name="data"/> (kept when this server is disposed) to test restarts.</summary>
    public static async Task<RunningServer> StartAsync(ITestOutputHelper? output, IDictionary<string, string?>? settings = null, TempFolder? data = null)
    {
        var ownsData = data is null;
        data ??= new TempFolder();
        var args = new List<string> { "--urls=http://127.0.0.1:0", $"--Runbox:DataDirectory={data.Path}", "--Runbox:Workers=2" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            args.Add($"--{key}={value}");
        }
        var logs = new XunitLoggerProvider { Output = output };
        var app = RunboxApp.Build(args.ToArray(), builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
        });
        try
        {
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            // A test may point the server at a data folder it keeps across a restart.
            var dataDirectory = settings?.TryGetValue("Runbox:DataDirectory", out var kept) == true && kept is not null ? kept : data.Path;
            var adminKey = (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "admin.key"))).Trim();
            return new RunningServer(app, data, logs, address, adminKey) { _ownsData = ownsData };
        }
        catch
        {
            // No server object to dispose: stop this one here, or its folder (and work root) stays in /tmp.
            await app.DisposeAsync();
            if (ownsData)
            {
                data.Dispose();
            }
            throw;
        }
    }

    /// <summary>Disposed with the server (a folder the test made for it, such as a wheel folder).</summary>
    public void Owns(IDisposable resource) => _owned.Add(resource);

    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>Creates a non-admin key and returns a client using it, with the key's id.</summary>
    public async Task<(HttpClient Client, string KeyId)> UserAsync(string name)
    {
        var response = await Admin.PostAsJsonAsync("/api/v1/keys", new KeyCreateRequest { Name = name }, RunboxJson.Options);
        response.EnsureSuccessStatusCode();
        var created = (await response.Content.ReadFromJsonAsync<KeyCreatedResponse>(RunboxJson.Options))!;
        return (Client(created.Key), created.Id);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        try
        {
            await App.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        finally
        {
            await App.DisposeAsync();
            if (_ownsData)
            {
                _data.Dispose();
            }
            foreach (var resource in _owned)
            {
                resource.Dispose();
            }
        }
    }
}

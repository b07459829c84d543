using System.Net.Http.Json;
using Runbox.Server.Http;
using Runbox.Server.Runtimes;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Runtimes;

/// <summary>A server whose packages come only from a local wheel folder (offline), with the wheels the tests use.</summary>
public static class RuntimeServer
{
    public static Dictionary<string, string?> Settings(string wheels) => new()
    {
        ["Runbox:Packages:FindLinks"] = wheels,
        ["Runbox:Packages:Offline"] = "true",
    };

    /// <summary>
    /// tinypkg 0.1, extrapkg 1.0, brokenprint 1.0 whose .pth breaks print() at interpreter start, and halfway 1.0 and
    /// breakshalfway 1.0: they resolve, their dependency (extrapkg, brokenprint) installs, then they fail to install;
    /// exitsatstart 1.0, whose .pth ends the interpreter at start; threadpkg 1.0, which starts a Python thread at import.
    /// </summary>
    public static string WriteWheels(string folder)
    {
        TinyWheel.Write(folder, "tinypkg", "0.1", new Dictionary<string, string> { ["tinypkg/__init__.py"] = "VALUE = 1\n" });
        TinyWheel.Write(folder, "extrapkg", "1.0", new Dictionary<string, string> { ["extrapkg/__init__.py"] = "VALUE = 'extra'\n" });
        WriteBrokenPrintWheel(folder);
        // A file outside the environment: the installer refuses the wheel when it installs it, after its dependency.
        var outside = new Dictionary<string, string> { ["../../outside.txt"] = "refused\n" };
        TinyWheel.Write(folder, "halfway", "1.0", outside, requires: ["extrapkg"]);
        TinyWheel.Write(folder, "breakshalfway", "1.0", outside, requires: ["brokenprint"]);
        // Its .pth ends every interpreter of the environment at start, silently.
        TinyWheel.Write(folder, "exitsatstart", "1.0", new Dictionary<string, string> { ["exitsatstart.pth"] = "import os; os._exit(3)\n" });
        // Preloaded, it leaves the zygote with a second Python thread: its jobs are refused.
        TinyWheel.Write(folder, "threadpkg", "1.0", new Dictionary<string, string>
        {
            ["threadpkg/__init__.py"] = "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n",
        });
        return folder;
    }

    /// <summary>brokenprint 1.0: its .pth replaces print() at interpreter start, so a runtime with it fails its smoke test.</summary>
    public static void WriteBrokenPrintWheel(string folder) =>
        TinyWheel.Write(folder, "brokenprint", "1.0", new Dictionary<string, string>
        {
            ["brokenprint.pth"] = "import builtins; builtins.print = lambda *a, **k: (_ for _ in ()).throw(RuntimeError('print is broken in this runtime'))\n",
        });

    /// <summary>A server with a wheel folder of its own (a few kilobytes), removed when the server is disposed.</summary>
    public static async Task<RunningServer> StartAsync(ITestOutputHelper output, TempFolder? data = null)
    {
        var wheels = new TempFolder();
        try
        {
            WriteWheels(wheels.Path);
            var server = await RunningServer.StartAsync(output, Settings(wheels.Path), data);
            server.Owns(wheels);
            return server;
        }
        catch
        {
            wheels.Dispose();
            throw;
        }
    }

    public static async Task<RuntimeResponse> CreateAsync(this HttpClient client, RuntimeCreateRequest request)
    {
        var response = await client.PostAsJsonAsync("/api/v1/runtimes", request, RunboxJson.Options);
        var created = await response.ReadAsync<RuntimeResponse>();
        Assert.Equal("installing", created.State);
        return created;
    }

    public static async Task<RuntimeResponse> GetRuntimeAsync(this HttpClient client, string name) =>
        await (await client.GetAsync($"/api/v1/runtimes/{name}")).ReadAsync<RuntimeResponse>();

    /// <summary>
    /// Polls until the runtime is no longer installing (nor waiting on its smoke test): an operational one with a
    /// progress line is still installing into a copy of its environment.
    /// </summary>
    public static async Task<RuntimeResponse> WaitSettledAsync(this HttpClient client, string name, double seconds = 180)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var runtime = await client.GetRuntimeAsync(name);
            if (runtime.State is "operational" or "failed" && runtime.Progress is null)
            {
                return runtime;
            }
            Assert.True(DateTime.UtcNow < deadline, $"runtime {name} still {runtime.State} ({runtime.Progress}) after {seconds} s");
            await Task.Delay(200);
        }
    }
}

using System.Net.Http.Json;
using System.Text.Json;

namespace Runbox.Cli.Tests;

/// <summary>Following or showing a job that printed tens of MB, with the memory a small container gives the CLI.</summary>
public sealed class LargeOutputTests(CliFixture server) : IClassFixture<CliFixture>
{
    /// <summary>The job <see cref="LargeJobAsync"/> submits, as a script file for <c>runbox run</c>.</summary>
    private const string LargeScript = "import sys\nline = b'x' * 99 + b'\\n'\nfor _ in range(250000):\n    sys.stdout.buffer.write(line)\n";

    [Fact]
    public async Task JobsLogsFollow_PrintsA25MbJob_WithinA160MbHeap()
    {
        // The stream's last event is the job with all its output; read through a string, it took over 224 MB (and over
        // 500 MB for a 50 MB job), so the CLI died of an OutOfMemoryException where a container caps its memory. Read
        // from its bytes, the output still became a string twice its size, which the lines had printed already: over
        // 160 MB (400 MB for 50 MB).
        var id = await LargeJobAsync();

        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(
            ["jobs", "logs", id, "-f", "--server", server.Server, "--data", server.DataDirectory],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xA000000" });

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal(25_000_000, stdout.Length);
    }

    [Fact]
    public async Task JobsGet_PrintsA25MbJob_WithinA128MbHeap()
    {
        // Read into a job, serialized into one string and written, a 25 MB job died of an OutOfMemoryException in 224 MB
        // (a 50 MB one took 610 MB); re-indented as it arrives it fits in 128 MB.
        var id = await LargeJobAsync();

        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(
            ["jobs", "get", id, "--server", server.Server, "--data", server.DataDirectory],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x8000000" });

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        var job = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(id, job.GetProperty("id").GetString());
        Assert.Equal(string.Concat(Enumerable.Repeat(new string('x', 99) + "\n", 250_000)), job.GetProperty("stdout").GetString());
        // Indented as before, one property a line.
        Assert.StartsWith($"{{\n  \"id\": \"{id}\",\n  \"owner\": ", System.Text.Encoding.UTF8.GetString(stdout, 0, 100));
    }

    [Fact]
    public async Task RunJson_PrintsA25MbJob_WithinA160MbHeap()
    {
        // The result event was read into a job, its output a string, then serialized into another string of the whole
        // job: a 25 MB job died of an OutOfMemoryException in 224 MB (a 50 MB one took 646 MB). The event's bytes are
        // what it printed.
        var script = Path.Combine(server.DataDirectory, "large.py");
        await File.WriteAllTextAsync(script, LargeScript);

        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(
            ["run", script, "--output", "30", "--json", "--server", server.Server, "--data", server.DataDirectory],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xA000000" });

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        var job = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(string.Concat(Enumerable.Repeat(new string('x', 99) + "\n", 250_000)), job.GetProperty("stdout").GetString());
        // Compact as before, one line.
        Assert.StartsWith("{\"id\":\"", System.Text.Encoding.UTF8.GetString(stdout, 0, 10));
        Assert.Equal((byte)'\n', stdout[^1]);
        Assert.Equal(1, stdout.Count(b => b == (byte)'\n'));
    }

    /// <summary>A job that printed 25 MB: 250,000 lines of 100 bytes.</summary>
    private async Task<string> LargeJobAsync()
    {
        using var admin = server.AdminClient();
        using var submitted = await admin.PostAsJsonAsync("/api/v1/jobs?wait=true", new
        {
            script = LargeScript,
            limits = new { output_bytes = 30_000_000 },
        });
        var job = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        return job.GetProperty("id").GetString()!;
    }
}

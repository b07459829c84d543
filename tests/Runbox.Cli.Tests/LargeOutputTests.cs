using System.Net.Http.Json;
using System.Text.Json;

namespace Runbox.Cli.Tests;

/// <summary>Following a job that printed tens of MB, with the memory a small container gives the CLI.</summary>
public sealed class LargeOutputTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task JobsLogsFollow_PrintsA25MbJob_WithinA224MbHeap()
    {
        // The stream's last event is the job with all its output; read through a string, it took over 224 MB (and over
        // 500 MB for a 50 MB job), so the CLI died of an OutOfMemoryException where a container caps its memory.
        using var admin = server.AdminClient();
        using var submitted = await admin.PostAsJsonAsync("/api/v1/jobs?wait=true", new
        {
            script = "import sys\nline = b'x' * 99 + b'\\n'\nfor _ in range(250000):\n    sys.stdout.buffer.write(line)\n",
            limits = new { output_bytes = 30_000_000 },
        });
        var job = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("succeeded", job.GetProperty("status").GetString());

        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(
            ["jobs", "logs", job.GetProperty("id").GetString()!, "-f", "--server", server.Server, "--data", server.DataDirectory],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xE000000" });

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal(25_000_000, stdout.Length);
    }
}

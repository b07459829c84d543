using System.Diagnostics;
using System.Text.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Webhooks;

/// <summary>The receiver's Python check in docs/api.md, run as written against a real delivery.</summary>
public sealed class WebhookDocsSnippetTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task DocsPythonCheck_AcceptsARealDelivery_AndRefusesATamperedOne()
    {
        Skip.IfNot(File.Exists("/usr/bin/python3"), "no /usr/bin/python3");
        var snippet = DocsSnippet();
        using var receiver = new WebhookReceiver(failFirst: 0);
        // No Runbox:Webhooks:Secret: the server generates <data>/webhook.secret, the file the snippet reads.
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:Webhooks:AllowPrivateAddresses"] = "true",
        });
        await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('héllo')", CallbackUrl = receiver.Url });
        var (body, headers) = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));

        using var folder = new TempFolder();
        var code = snippet.Replace("runbox-data/webhook.secret", Path.Combine(server.DataDirectory, "webhook.secret"), StringComparison.Ordinal);
        Assert.NotEqual(snippet, code);

        Assert.Equal("True", await RunAsync(folder, code, headers, body));
        var tampered = body.ToArray();
        tampered[^2] ^= 1;
        Assert.Equal("False", await RunAsync(folder, code, headers, tampered));
        var stale = new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase)
        {
            ["X-Runbox-Timestamp"] = (long.Parse(headers["X-Runbox-Timestamp"]) - 3600).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Assert.Equal("False", await RunAsync(folder, code, stale, body));
    }

    /// <summary>Runs the snippet with <c>request</c> standing for the web framework's request, and prints <c>valid</c>.</summary>
    private static async Task<string> RunAsync(TempFolder folder, string snippet, Dictionary<string, string> headers, byte[] body)
    {
        var headersFile = Path.Combine(folder.Path, "headers.json");
        var bodyFile = Path.Combine(folder.Path, "body");
        var codeFile = Path.Combine(folder.Path, "check.py");
        await File.WriteAllTextAsync(headersFile, JsonSerializer.Serialize(headers));
        await File.WriteAllBytesAsync(bodyFile, body);
        await File.WriteAllTextAsync(codeFile, $$"""
            import json, sys, types
            request = types.SimpleNamespace(headers=json.load(open(sys.argv[1])), body=open(sys.argv[2], "rb").read())
            {{snippet}}
            print(valid)
            """);
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [codeFile, headersFile, bodyFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = await python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();
        Assert.True(python.ExitCode == 0, stderr);
        return (await stdout).Trim();
    }

    private static string DocsSnippet()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Runbox.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no Runbox.slnx above the test binaries");
        }
        var api = File.ReadAllText(Path.Combine(root, "docs", "api.md"));
        var section = api[api.IndexOf("## Webhooks", StringComparison.Ordinal)..];
        var start = section.IndexOf("```python\n", StringComparison.Ordinal) + "```python\n".Length;
        return section[start..section.IndexOf("```", start, StringComparison.Ordinal)].TrimEnd();
    }
}

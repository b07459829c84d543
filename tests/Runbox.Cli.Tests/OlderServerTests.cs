using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Runbox.Cli.Tests;

/// <summary>
/// A newer CLI against an older server, which refuses what it does not know yet (the CLI's <c>entrypoint</c> beside a
/// script, before the API took it) as a bad request naming the field: the CLI says which builds the two are.
/// </summary>
public sealed class OlderServerTests
{
    /// <summary>The old server's words, from before entrypoint could come with a script.</summary>
    private const string Refusal = "entrypoint: is only allowed with files.";

    private static readonly string CliVersion =
        typeof(OlderServerTests).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    [Fact]
    public async Task Run_SaysTheServerIsOlder_WhenABadRequestComesWithoutTheServersVersion()
    {
        var stderr = await RunAgainstAsync(version: null);

        Assert.Equal($"runbox: {Refusal} (The server does not say its version: it is older than this runbox, {CliVersion}, " +
            "and refuses what it does not know yet; update the server.)\n", stderr);
    }

    [Fact]
    public async Task Run_SaysBothVersions_WhenABadRequestComesFromAServerOfAnotherBuild()
    {
        var stderr = await RunAgainstAsync(version: "1.0.0+0123456789abcdef");

        Assert.Equal($"runbox: {Refusal} (The server runs Runbox 1.0.0+0123456789abcdef and this runbox is {CliVersion}: " +
            "if the server is the older one, it refuses what it does not know yet; update it.)\n", stderr);
    }

    private static async Task<string> RunAgainstAsync(string? version)
    {
        var script = Path.Combine(Path.GetTempPath(), $"runbox-older-server-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, "print(1)\n");
        try
        {
            var (code, stdout, stderr) = await StandInServer.RunCliAsync(api => api.MapPost("/api/v1/jobs", (HttpContext http) =>
            {
                if (version is not null)
                {
                    http.Response.Headers["Runbox-Version"] = version;
                }
                return Results.Problem(statusCode: 400, title: "Invalid request", detail: Refusal);
            }), null, "run", script);

            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            return stderr;
        }
        finally
        {
            File.Delete(script);
        }
    }
}

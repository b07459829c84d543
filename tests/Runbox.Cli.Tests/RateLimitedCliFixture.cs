namespace Runbox.Cli.Tests;

/// <summary>
/// A server that lets a key make one request a second: a test that keeps sending requests with the CLI's key keeps
/// the key's bucket empty, and the CLI gets the server's real 429.
/// </summary>
public sealed class RateLimitedCliFixture() : CliFixture(["--Runbox:RateLimit:RequestsPerSecond=1", "--Runbox:RateLimit:Burst=1"]);

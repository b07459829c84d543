using System.Net;
using System.Text.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Webhooks;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Webhooks;

public sealed class WebhookTests(ITestOutputHelper output)
{
    private const string Secret = "test-webhook-secret-0123456789";

    [Fact]
    public async Task Callback_ReceivesTheSignedFinalJobAfterRetries_WhenTheReceiverFailsFirst()
    {
        using var receiver = new WebhookReceiver(failFirst: 1);
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:Webhooks:AllowPrivateAddresses"] = "true",
            ["Runbox:Webhooks:Secret"] = Secret,
            ["Runbox:Webhooks:InitialBackoffSeconds"] = "0.2",
        });

        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('done')", CallbackUrl = receiver.Url });
        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, receiver.Attempts);
        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(job.Id, body.GetProperty("id").GetString());
        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        Assert.Equal("done\n", body.GetProperty("stdout").GetString());
        Assert.Equal("job.finished", delivery.Headers["X-Runbox-Event"]);
        var timestamp = long.Parse(delivery.Headers["X-Runbox-Timestamp"]);
        Assert.True(WebhookSigner.Verify(Secret, timestamp, delivery.Body, delivery.Headers["X-Runbox-Signature"]));
        Assert.False(WebhookSigner.Verify("another-secret-0123456789", timestamp, delivery.Body, delivery.Headers["X-Runbox-Signature"]));
        // A retry is the same delivery: the receiver de-duplicates on its id.
        Assert.Single(receiver.Received.Select(r => r.Headers["X-Runbox-Delivery"]).Distinct());
    }

    [Fact]
    public async Task Submit_RefusesLoopbackCallback_WhenPrivateAddressesAreNotAllowed()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

        var response = await server.Admin.SubmitAsync(new JobSubmission { Script = "print(1)", CallbackUrl = "http://localhost:9/hook" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("loopback", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("ftp://example.com/hook", "absolute http or https")]
    [InlineData("/hook", "absolute http or https")]
    [InlineData("http://user:pass@example.com/hook", "credentials")]
    [InlineData("http://[::1]:9/hook", "loopback")]
    [InlineData("http://[::ffff:127.0.0.1]/hook", "loopback")]
    [InlineData("http://2130706433/hook", "loopback")]         // 127.0.0.1 as one number
    [InlineData("http://0x7f.1/hook", "loopback")]
    [InlineData("http://localhost./hook", "loopback")]         // the same name, fully qualified
    [InlineData("http://0.0.0.0:9/hook", "internal")]
    [InlineData("http://169.254.169.254/latest/meta-data", "internal")]
    public async Task Submit_RefusesCallbackUrl_NamingWhy(string url, string reason)
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

        var response = await server.Admin.SubmitAsync(new JobSubmission { Script = "print(1)", CallbackUrl = url });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Contains("callback_url", problem.GetRawText());
        Assert.Contains(reason, problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Callback_ToANameThatResolvesToLoopback_IsAcceptedButNeverDialled()
    {
        // No address in the URL to refuse at submit: the name is checked where it is dialled, on what it resolves to then.
        // A name /etc/hosts gives a loopback address (not the machine's own name: .NET adds its interfaces' addresses).
        var name = File.ReadLines("/etc/hosts")
            .Select(line => line.Split('#')[0].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 1 && IPAddress.TryParse(fields[0], out var a) && IPAddress.IsLoopback(a))
            .SelectMany(fields => fields.Skip(1))
            .FirstOrDefault(n => !n.Contains("localhost", StringComparison.OrdinalIgnoreCase) && n != Dns.GetHostName());
        Skip.If(name is null, "/etc/hosts names no loopback address but localhost's");
        var addresses = await Dns.GetHostAddressesAsync(name);
        Skip.IfNot(addresses.Length > 0 && addresses.All(IPAddress.IsLoopback), $"{name} does not resolve to loopback alone ({string.Join(", ", addresses.Select(a => a.ToString()))})");
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:Webhooks:Secret"] = Secret,
            ["Runbox:Webhooks:MaxAttempts"] = "1",
        });

        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('done')", CallbackUrl = receiver.Url.Replace("127.0.0.1", name, StringComparison.Ordinal) });
        await server.Admin.WaitEndedAsync(job.Id, 30);
        for (var i = 0; i < 200 && !server.Logs.Events.Any(e => e.Id == 1201); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains(server.Logs.Events, e => e.Id == 1201); // the attempt failed...
        Assert.Equal(0, receiver.Attempts); // ...without a connection to the listener on loopback
        Assert.DoesNotContain(server.Logs.Events, e => e.Id == 1200);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.0.0.1", true)]
    [InlineData("172.16.5.4", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("64:ff9b::10.0.0.1", true)]        // NAT64 (RFC 6052): the gateway dials the IPv4 address inside
    [InlineData("64:ff9b::169.254.169.254", true)]
    [InlineData("64:ff9b:1::93.184.216.34", true)]  // local-use NAT64 (RFC 8215): internal by definition
    [InlineData("2002:7f00:1::1", true)]           // 6to4 of 127.0.0.1
    [InlineData("2002:c0a8:101::1", true)]         // 6to4 of 192.168.1.1
    [InlineData("::127.0.0.1", true)]              // IPv4-compatible (deprecated), routed by a sit tunnel
    [InlineData("::10.1.2.3", true)]
    [InlineData("93.184.216.34", false)]
    [InlineData("64:ff9b::93.184.216.34", false)]
    [InlineData("2002:5db8:d822::1", false)]       // 6to4 of 93.184.216.34
    [InlineData("2606:4700::1111", false)]
    public void IsInternal_ClassifiesAddresses_ByRange(string address, bool expected) =>
        Assert.Equal(expected, CallbackAddressPolicy.IsInternal(IPAddress.Parse(address)));
}

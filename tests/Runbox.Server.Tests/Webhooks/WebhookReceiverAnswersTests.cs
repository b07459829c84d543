using System.Text.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Webhooks;

/// <summary>What the server does with a receiver's answer: its status, its body, and what it is sent.</summary>
public sealed class WebhookReceiverAnswersTests(ITestOutputHelper output)
{
    private static Dictionary<string, string?> Settings(int maxAttempts, double timeoutSeconds = 10) => new()
    {
        ["Runbox:Webhooks:AllowPrivateAddresses"] = "true",
        ["Runbox:Webhooks:Secret"] = "test-webhook-secret-0123456789",
        ["Runbox:Webhooks:InitialBackoffSeconds"] = "0.2",
        ["Runbox:Webhooks:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Runbox:Webhooks:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task Callback_IsDeliveredOnce_WhenTheReceiverAnswers200WithAnEndlessBody()
    {
        // Its body was read whole before the status counted: the 200 became a timeout, and the delivery was retried.
        using var receiver = new WebhookReceiver(_ => 200, endlessBody: true);
        await using var server = await RunningServer.StartAsync(output, Settings(maxAttempts: 2, timeoutSeconds: 2));

        await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('done')", CallbackUrl = receiver.Url });
        await WaitForLogAsync(server, 1200, 1202);

        Assert.Contains(server.Logs.Events, e => e.Id == 1200);
        Assert.DoesNotContain(server.Logs.Events, e => e.Id == 1201);
        Assert.Equal(1, receiver.Attempts);
    }

    [Fact]
    public async Task Callback_IsNotRetried_WhenTheReceiverAnswers410Gone()
    {
        using var receiver = new WebhookReceiver(_ => 410);
        await using var server = await RunningServer.StartAsync(output, Settings(maxAttempts: 3));

        await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('done')", CallbackUrl = receiver.Url });
        await WaitForLogAsync(server, 1203, 1202);

        Assert.Contains(server.Logs.Events, e => e.Id == 1203);
        Assert.Equal(1, receiver.Attempts);
    }

    [Fact]
    public async Task Callback_IsRetried_WhenTheReceiverRedirects_WithoutFollowingTheRedirect()
    {
        // A 3xx's Location could name an internal address the URL's check never saw: it is an answer, not a new target.
        using var target = new WebhookReceiver(_ => 200);
        using var receiver = new WebhookReceiver(_ => 307, location: target.Url);
        await using var server = await RunningServer.StartAsync(output, Settings(maxAttempts: 2));

        await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('done')", CallbackUrl = receiver.Url });
        await WaitForLogAsync(server, 1202);

        Assert.Equal(2, receiver.Attempts);
        Assert.Equal(0, target.Attempts);
    }

    [Fact]
    public async Task Callback_LeavesOutTheOutput_WhenItIsOverAMebibyte()
    {
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, Settings(maxAttempts: 1));

        var job = await server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys; sys.stdout.write('x' * 2_000_000)",
            Limits = new JobLimitsBody { OutputBytes = 4_000_000 },
            CallbackUrl = receiver.Url,
        });
        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(delivery.Body.Length < 64 * 1024, $"the payload is {delivery.Body.Length} bytes");
        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("stdout").ValueKind);
        var stdout = await server.Admin.GetByteArrayAsync($"/api/v1/jobs/{job.Id}/stdout");
        Assert.Equal(2_000_000, stdout.Length);
    }

    [Fact]
    public async Task ReceiverThatNeverAnswers_HoldsUpNeitherOtherCallbacksNorTheServersStop()
    {
        using var hanging = new WebhookReceiver(_ => 0);
        using var receiver = new WebhookReceiver(failFirst: 0);
        var server = await RunningServer.StartAsync(output, Settings(maxAttempts: 1, timeoutSeconds: 600));
        try
        {
            var first = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)", CallbackUrl = hanging.Url });
            await server.Admin.WaitEndedAsync(first.Id, 30);
            for (var i = 0; i < 200 && hanging.Attempts == 0; i++)
            {
                await Task.Delay(50);
            }
            Assert.Equal(1, hanging.Attempts);

            var second = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(2)", CallbackUrl = receiver.Url });
            var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(second.Id, JsonDocument.Parse(delivery.Body).RootElement.GetProperty("id").GetString());
        }
        finally
        {
            // The stop cancels the hanging attempt rather than waiting out its 600 s timeout.
            await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private static async Task WaitForLogAsync(RunningServer server, params int[] ids)
    {
        for (var i = 0; i < 600 && !server.Logs.Events.Any(e => ids.Contains(e.Id)); i++)
        {
            await Task.Delay(50);
        }
    }
}

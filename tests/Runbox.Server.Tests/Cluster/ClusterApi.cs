using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Worker;

namespace Runbox.Server.Tests.Cluster;

/// <summary>Calls the cluster tests repeat: workers list, waiting with a bound, submitting through a store outage.</summary>
internal static class ClusterApi
{
    public static async Task<WorkerListResponse> WorkersAsync(this HttpClient client) =>
        await (await client.GetAsync("/api/v1/workers")).ReadAsync<WorkerListResponse>();

    public static async Task UntilAsync(Func<Task<bool>> condition, double seconds, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not within {seconds} s");
            await Task.Delay(200);
        }
    }

    /// <summary>Submits, retrying while the API answers 5xx (its store connection is being re-established).</summary>
    public static async Task<JobResponse> SubmitRetryingAsync(this HttpClient client, JobSubmission submission, double seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                var response = await client.SubmitAsync(submission);
                if ((int)response.StatusCode < 500)
                {
                    return await response.ReadAsync<JobResponse>();
                }
            }
            catch (HttpRequestException)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"the API did not accept a job within {seconds} s");
            await Task.Delay(500);
        }
    }

    /// <summary>Polls until the job ended, counting answers other than 200 (a store outage) as "not yet".</summary>
    public static async Task<JobResponse> WaitEndedRetryingAsync(this HttpClient client, string id, double seconds)
    {
        JobResponse? job = null;
        await UntilAsync(async () =>
        {
            var response = await client.GetAsync($"/api/v1/jobs/{id}");
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }
            job = await response.ReadAsync<JobResponse>();
            return job.Status is not ("queued" or "running");
        }, seconds, $"job {id} ends");
        return job!;
    }

    public static JobSubmission Python(string script, int? maxAttempts = null) => new() { Script = script, MaxAttempts = maxAttempts };
}

using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Server.Http;
using Runbox.Server.Jobs;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>Small calls the tests make over and over.</summary>
public static class Api
{
    public static Task<HttpResponseMessage> SubmitAsync(this HttpClient client, JobSubmission submission, bool wait = false) =>
        client.PostAsJsonAsync(wait ? "/api/v1/jobs?wait=true" : "/api/v1/jobs", submission, RunboxJson.Options);

    public static async Task<JobResponse> SubmitOkAsync(this HttpClient client, JobSubmission submission, bool wait = false)
    {
        var response = await client.SubmitAsync(submission, wait);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize(text, RunboxJsonContext.Default.JobResponse)!;
    }

    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, RunboxJson.Options)!;
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static async Task<JobResponse> GetJobAsync(this HttpClient client, string id) =>
        await (await client.GetAsync($"/api/v1/jobs/{id}")).ReadAsync<JobResponse>();

    /// <summary>Polls until the job ended (tests only; clients use ?wait=true or the event stream).</summary>
    public static async Task<JobResponse> WaitEndedAsync(this HttpClient client, string id, double seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var job = await client.GetJobAsync(id);
            if (job.Status is not ("queued" or "running"))
            {
                return job;
            }
            Assert.True(DateTime.UtcNow < deadline, $"job {id} still {job.Status} after {seconds} s");
            await Task.Delay(100);
        }
    }
}

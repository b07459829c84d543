using System.CommandLine;
using System.Text.Json;
using Runbox.Cli.Client;
using Runbox.Server.Http;
using Runbox.Server.Jobs;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox jobs list|get|logs [-f]|artifacts [--save]|cancel|delete</c>.</summary>
internal static class JobsCommand
{
    public static Command Create()
    {
        var command = new Command("jobs", "List and manage jobs on a Runbox server.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(Logs());
        command.Subcommands.Add(Artifacts());
        command.Subcommands.Add(Simple("cancel", "Cancel a queued or running job.", async (api, id, ct) =>
        {
            var job = await api.CancelAsync(id, ct);
            Console.Out.WriteLine($"{job.Id} {job.Status}{(job.CancelRequested && job.Status == "running" ? " (cancel requested)" : "")}");
        }));
        command.Subcommands.Add(Simple("delete", "Delete a job with its logs and artifacts (cancelling it if it runs).", async (api, id, ct) =>
        {
            await api.DeleteAsync(id, ct);
            Console.Out.WriteLine($"{id} deleted");
        }));
        return command;
    }

    private static Command List()
    {
        var client = new ClientOptions();
        var status = new Option<string?>("--status") { Description = "Only jobs in this state (queued, running, succeeded, failed, timed_out, cancelled, error)." };
        var limit = NumberOption.Create<int>("--limit", "How many jobs to show, 1-200.", minimum: 1, maximum: 200);
        limit.DefaultValueFactory = _ => 20;
        var cursor = new Option<string?>("--cursor") { Description = "Start after the page that gave this cursor (next_cursor in --json; printed on stderr under a table)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("list", "List jobs, newest first.") { status, limit, cursor, json };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guard(async () =>
        {
            using var api = client.Connect(parse);
            var page = await api.ListAsync(parse.GetValue(status), parse.GetValue(limit), parse.GetValue(cursor), ct);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(page, RunboxJsonContext.Default.JobListResponse));
                return;
            }
            Table.Write(
                ["ID", "STATUS", "LANG", "EXIT", "CREATED", "WALL"],
                page.Jobs.Select(j => new[]
                {
                    j.Id, j.Status, j.Language, Exit(j), j.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"),
                    j.WallMs is { } ms ? $"{ms} ms" : "-",
                }));
            if (page.NextCursor is { } next)
            {
                // On stderr, so that the table alone can be piped on; the same filter and page size, from the next job.
                var filter = parse.GetValue(status) is { } s ? $" --status {s}" : "";
                var size = parse.GetValue(limit) is var n and not 20 ? $" --limit {n}" : "";
                Console.Error.WriteLine($"more: runbox jobs list{filter}{size} --cursor {next}");
            }
        }));
        return command;
    }

    private static Command Get()
    {
        var client = new ClientOptions();
        var id = PathArgument.Create("id", "job id", "The job id.");
        var command = new Command("get", "Show a job and its result as JSON.") { id };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guard(async () =>
        {
            using var api = client.Connect(parse);
            // Stops at the first write stdout refuses (`| head`) rather than reading the rest of the job for nothing.
            await using var stdout = StandardOutput.Open();
            try
            {
                await api.GetJsonAsync(parse.GetValue(id)!, (body, token) => ReadableJson.CopyAsync(body, stdout, token), ct);
                return 0;
            }
            catch (IOException) when (StandardOutput.CanLoseItsReader)
            {
                return StandardOutput.ReaderGoneExitCode;
            }
        }));
        return command;
    }

    private static Command Logs()
    {
        var client = new ClientOptions();
        var id = PathArgument.Create("id", "job id", "The job id.");
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep following the output until the job ends (Ctrl-C stops following; the job keeps running)." };
        var tail = NumberOption.CreateOptional<int>("--tail",
            $"Print only the last N lines (1-{Runbox.Server.Jobs.LogTail.MaxLines}); with -f, follow on from them.", 1, Runbox.Server.Jobs.LogTail.MaxLines);
        var command = new Command("logs", "Print a job's log lines.") { id, follow, tail };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guard(async () =>
        {
            using var api = client.Connect(parse);
            var jobId = parse.GetValue(id)!;
            long after = 0;
            if (parse.GetValue(tail) is { } count)
            {
                // Asked of the server, which reads the job's last lines alone: a job may hold millions.
                var last = await api.TailAsync(jobId, count, ct);
                await using (var tailOut = StandardOutput.OpenText())
                {
                    foreach (var line in last.Lines)
                    {
                        if (!await RunCommand.TryWriteAsync(line, tailOut))
                        {
                            return StandardOutput.ReaderGoneExitCode;
                        }
                    }
                }
                if (!parse.GetValue(follow))
                {
                    return 0;
                }
                after = last.NextSeq;
            }
            if (parse.GetValue(follow))
            {
                // Following is only watching: Ctrl-C stops it and leaves the job running.
                return await RunCommand.FollowAsync(api, jobId, json: false, ownsJob: false, ct, after);
            }
            // Stops at the first write stdout refuses (`| head`) rather than fetching every page for nothing.
            await using var stdout = StandardOutput.OpenText();
            while (true)
            {
                var page = await api.LogsAsync(jobId, after, ct);
                foreach (var line in page.Lines)
                {
                    if (!await RunCommand.TryWriteAsync(line, stdout))
                    {
                        return StandardOutput.ReaderGoneExitCode;
                    }
                }
                // Done: the job ended and this was its last page, so asking again would only fetch an empty one.
                if (page.Done || page.Lines.Count == 0)
                {
                    return 0;
                }
                after = page.NextSeq;
            }
        }));
        return command;
    }

    private static Command Artifacts()
    {
        var client = new ClientOptions();
        var id = PathArgument.Create("id", "job id", "The job id.");
        var save = new Option<string?>("--save") { Description = "Download them into this folder, their paths kept." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("artifacts", "List the files a job left in its working folder, or download them.") { id, save, json };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guard(async () =>
        {
            using var api = client.Connect(parse);
            var jobId = parse.GetValue(id)!;
            var list = await api.ArtifactsAsync(jobId, ct);
            if (parse.GetValue(save) is { } folder)
            {
                // As run --save says it: which folder could not be used (a file of that name), not only .NET's words.
                if (SavedArtifacts.Prepare(folder) is { } unusable)
                {
                    await Console.Error.WriteLineAsync($"runbox: {unusable}");
                    return 2;
                }
                try
                {
                    await SavedArtifacts.DownloadAsync(api, jobId, list.Artifacts, folder, ct);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync($"runbox: could not save job {jobId}'s artifacts: {e.Message}");
                    return 1;
                }
            }
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(list, RunboxJsonContext.Default.ArtifactListResponse));
            }
            else if (parse.GetValue(save) is null)
            {
                Table.Write(["NAME", "SIZE", "CREATED"],
                    list.Artifacts.Select(a => new[] { a.Name, a.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), a.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss") }));
            }
            return 0;
        }));
        return command;
    }

    private static Command Simple(string name, string description, Func<RunboxClient, string, CancellationToken, Task> action)
    {
        var client = new ClientOptions();
        var id = PathArgument.Create("id", "job id", "The job id.");
        var command = new Command(name, description) { id };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guard(async () =>
        {
            using var api = client.Connect(parse);
            await action(api, parse.GetValue(id)!, ct);
        }));
        return command;
    }

    /// <summary>
    /// Runs a client call: 0 when it worked; else the server's message (or the local file error) with
    /// <see cref="RunboxClientException.ExitCode"/> (2 for input the server refused, 1 for no answer or a server
    /// failure), 1 for a local file error, 2 when a client option could not be used.
    /// </summary>
    internal static Task<int> Guard(Func<Task> action) => Guard(async () =>
    {
        await action();
        return 0;
    });

    /// <summary>
    /// The EXIT column: the exit code, or the signal that ended the job as 128+N, as <c>run</c> exits then (137 for
    /// SIGKILL), since a killed job has no exit code of its own; "-" while it has neither.
    /// </summary>
    private static string Exit(JobResponse job) =>
        job.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture)
        ?? (job.Signal is { } signal ? $"{128 + signal} (signal {signal})" : "-");

    /// <summary>As above, for a call that decides its own exit code when it gets an answer.</summary>
    internal static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (ClientOptionException e)
        {
            await Console.Error.WriteLineAsync($"runbox: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is RunboxClientException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"runbox: {e.Message}");
            return e is RunboxClientException refused ? refused.ExitCode : 1;
        }
    }
}

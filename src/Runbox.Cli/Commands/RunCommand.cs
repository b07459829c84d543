using System.CommandLine;
using System.Text.Json;
using Runbox.Cli.Client;
using Runbox.Execution.Jobs;
using Runbox.Server.Http;
using Runbox.Server.Jobs;

namespace Runbox.Cli.Commands;

/// <summary>
/// <c>runbox run FILE</c>: submits to a server, streams the output live and exits with the script's exit code.
/// Ctrl-C cancels the job on the server.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var client = new ClientOptions();
        var file = new Argument<string>("file") { Description = "The script to run, or - to read it from stdin." };
        var args = ScriptArguments.Create();
        var lang = new Option<string?>("--lang") { Description = "python, bash or node (default: from the file extension, else python)." };
        var runtime = new Option<string?>("--runtime") { Description = "The runtime (Python environment) to run in (default: default)." };
        var timeout = new Option<double?>("--timeout") { Description = "Wall-clock limit in seconds." };
        var memory = new Option<long?>("--memory") { Description = "Memory limit in MB." };
        var cpu = new Option<double?>("--cpu") { Description = "CPU time limit in seconds." };
        var disk = new Option<long?>("--disk") { Description = "Size limit of the job's working folder in MB." };
        var network = new Option<bool>("--network") { Description = "Allow network access (when the server allows it)." };
        var fresh = new Option<bool>("--fresh") { Description = "Python: run in a freshly started interpreter instead of the zygote's fast path." };
        var detach = new Option<bool>("--detach") { Description = "Print the job id and return without waiting." };
        var json = new Option<bool>("--json") { Description = "Print the ended job as JSON instead of its output." };
        var command = new Command("run", "Run a script on a Runbox server, streaming its output live.")
        {
            file, args, lang, runtime, timeout, memory, cpu, disk, network, fresh, detach, json,
        };
        client.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (ScriptArguments.Refusal(parse, args) is { } refusal)
            {
                await Console.Error.WriteLineAsync($"runbox: {refusal}");
                return 2;
            }
            var path = parse.GetValue(file)!;
            var language = parse.GetValue(lang) ?? LanguageOf(path);
            string script;
            try
            {
                script = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken);
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"runbox: cannot read {path}: {e.Message}");
                return 2;
            }
            using var api = client.Connect(parse);
            JobResponse job;
            try
            {
                job = await api.SubmitAsync(new JobSubmission
                {
                    Script = script,
                    Language = language,
                    Args = [.. parse.GetValue(args) ?? []],
                    Runtime = parse.GetValue(runtime),
                    Network = parse.GetValue(network) ? true : null,
                    Fresh = parse.GetValue(fresh) ? true : null,
                    Limits = new JobLimitsBody
                    {
                        TimeoutSeconds = parse.GetValue(timeout),
                        MemoryMb = parse.GetValue(memory),
                        CpuSeconds = parse.GetValue(cpu),
                        DiskMb = parse.GetValue(disk),
                    },
                }, cancellationToken);
            }
            catch (RunboxClientException e)
            {
                await Console.Error.WriteLineAsync($"runbox: {e.Message}");
                return 2;
            }
            if (parse.GetValue(detach))
            {
                Console.Out.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(job, RunboxJsonContext.Default.JobResponse) : job.Id);
                return 0;
            }
            return await FollowAsync(api, job.Id, parse.GetValue(json), cancellationToken);
        });
        return command;
    }

    /// <summary>Streams the job to the console and returns its shell exit code; cancels it on Ctrl-C.</summary>
    internal static async Task<int> FollowAsync(RunboxClient api, string id, bool json, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (line, final) in api.EventsAsync(id, cancellationToken))
            {
                if (line is not null && !json)
                {
                    var writer = line.Stream == "stderr" ? Console.Error : Console.Out;
                    await writer.WriteLineAsync(line.Text);
                    await writer.FlushAsync(CancellationToken.None);
                }
                else if (final is not null)
                {
                    if (json)
                    {
                        Console.Out.WriteLine(JsonSerializer.Serialize(final, RunboxJsonContext.Default.JobResponse));
                    }
                    else if (final.Status is "error" or "timed_out" or "cancelled" || final.LimitExceeded is not (null or "none"))
                    {
                        // A job killed at a limit otherwise ends with only a signal's exit code (137 for memory), as
                        // `runbox exec` says too.
                        var why = final.Error ?? (final.LimitExceeded is not (null or "none") ? $"{final.LimitExceeded} limit exceeded" : null);
                        await Console.Error.WriteLineAsync($"runbox: job {final.Id} {final.Status}" + (why is not null ? $": {why}" : ""));
                    }
                    return final.ShellExitCode();
                }
            }
            await Console.Error.WriteLineAsync($"runbox: job {id} is gone");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await api.CancelAsync(id, deadline.Token);
                await Console.Error.WriteLineAsync($"runbox: cancelled job {id}");
            }
            catch (Exception e) when (e is RunboxClientException or OperationCanceledException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync($"runbox: could not cancel job {id}: {e.Message}");
            }
            return 130;
        }
        catch (RunboxClientException e)
        {
            await Console.Error.WriteLineAsync($"runbox: {e.Message}");
            return 1;
        }
    }

    private static string LanguageOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".sh" or ".bash" => JobLanguage.Bash.ToWire(),
        ".js" or ".mjs" or ".cjs" => JobLanguage.Node.ToWire(),
        _ => JobLanguage.Python.ToWire(),
    };
}

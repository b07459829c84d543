using System.CommandLine;
using System.Text;
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
        var scriptOptions = new ScriptOptions(local: false);
        var runtime = new Option<string?>("--runtime") { Description = "The runtime (Python environment) to run in (default: default)." };
        var detach = new Option<bool>("--detach") { Description = "Print the job id and return without waiting." };
        var json = new Option<bool>("--json") { Description = "Print the ended job as JSON instead of its output." };
        var command = new Command("run", "Run a script on a Runbox server, streaming its output live.");
        scriptOptions.AddTo(command);
        foreach (var option in new Option[] { runtime, detach, json })
        {
            command.Options.Add(option);
        }
        client.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (scriptOptions.Refusal(parse) is { } refusal)
            {
                await Console.Error.WriteLineAsync($"runbox: {refusal}");
                return 2;
            }
            var path = parse.GetValue(scriptOptions.File)!;
            var language = parse.GetValue(scriptOptions.Lang) ?? LanguageOf(path);
            var save = parse.GetValue(scriptOptions.Save);
            if (save is not null && parse.GetValue(detach))
            {
                await Console.Error.WriteLineAsync("runbox: --save waits for the job's end, --detach does not; use 'runbox jobs artifacts ID --save DIR' later instead.");
                return 2;
            }
            // The script goes as text, so that `runbox jobs get` and the UI show it and can run it again, with its own
            // file name as the entrypoint, so that __file__ and tracebacks say report.py (from stdin, or under a name
            // the server would refuse, the server's main.py). A file that is not UTF-8 text (a Latin-1 script) goes as
            // a file under its own name instead: as text it would be mangled, and only its exact bytes run as written.
            string? script = null;
            string? entrypoint = null;
            Dictionary<string, byte[]>? files = null;
            if (path == "-")
            {
                if (StandardStreams.InputClosed)
                {
                    await Console.Error.WriteLineAsync(StdinClosed);
                    return 2;
                }
                script = await ReadUntilInterruptedAsync(Console.In, cancellationToken);
            }
            else
            {
                var (bytes, unreadable) = await ScriptOptions.ReadFileAsync(path, cancellationToken);
                if (bytes is null)
                {
                    await Console.Error.WriteLineAsync($"runbox: {unreadable}");
                    return 2;
                }
                try
                {
                    // As File.ReadAllText reads it: UTF-8, without its byte order mark.
                    script = StrictUtf8.GetString(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? bytes.AsSpan(3) : bytes);
                    entrypoint = JobSubmissionValidator.FileNameProblem(Path.GetFileName(path)) is null ? Path.GetFileName(path) : null;
                }
                catch (DecoderFallbackException)
                {
                    files = new Dictionary<string, byte[]> { [Path.GetFileName(path)] = bytes };
                }
            }
            // Only once the script is there: a missing script leaves no folder behind.
            if (save is not null && SavedArtifacts.Prepare(save) is { } unusable)
            {
                await Console.Error.WriteLineAsync($"runbox: {unusable}");
                return 2;
            }
            // As exec does: what is piped in goes to the script, here as UTF-8 text (the API's stdin is a string).
            string? stdin = null;
            if (path != "-" && StandardStreams.InputRedirected)
            {
                using var reader = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
                stdin = await ReadUntilInterruptedAsync(reader, cancellationToken) is { Length: > 0 } text ? text : null;
            }
            // Ctrl-C while stdin was read (`producer | runbox run job.py`: reading a pipe cannot be cancelled, so the
            // read ended only when Ctrl-C ended the producer too): nothing was submitted, and nothing is.
            if (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("runbox: interrupted; no job was submitted");
                return 130;
            }
            RunboxClient api;
            try
            {
                api = client.Connect(parse);
            }
            catch (ClientOptionException e)
            {
                await Console.Error.WriteLineAsync($"runbox: {e.Message}");
                return 2;
            }
            using var disposeApi = api;
            JobResponse job;
            try
            {
                job = await api.SubmitAsync(new JobSubmission
                {
                    Script = script,
                    Files = files,
                    Entrypoint = files?.Keys.Single() ?? entrypoint,
                    Language = language,
                    Args = [.. parse.GetValue(scriptOptions.Args) ?? []],
                    Stdin = stdin,
                    Runtime = parse.GetValue(runtime),
                    Network = parse.GetValue(scriptOptions.Network) ? true : null,
                    Fresh = parse.GetValue(scriptOptions.Fresh) ? true : null,
                    Limits = new JobLimitsBody
                    {
                        TimeoutSeconds = parse.GetValue(scriptOptions.Timeout),
                        MemoryMb = parse.GetValue(scriptOptions.Memory),
                        CpuSeconds = parse.GetValue(scriptOptions.Cpu),
                        DiskMb = parse.GetValue(scriptOptions.Disk),
                        OutputBytes = scriptOptions.OutputBytes(parse),
                    },
                }, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("runbox: interrupted while submitting; the job may have been created: see 'runbox jobs list'");
                return 130;
            }
            catch (RunboxClientException e)
            {
                await Console.Error.WriteLineAsync($"runbox: {e.Message}");
                return e.ExitCode;
            }
            if (parse.GetValue(detach))
            {
                Console.Out.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(job, RunboxJsonContext.Default.JobResponse) : job.Id);
                return 0;
            }
            var code = await FollowAsync(api, job.Id, parse.GetValue(json), ownsJob: true, cancellationToken);
            // A job cancelled as the user left (Ctrl-C, or `| head` gone) is not waited on for its artifacts.
            return save is null || code is 130 or StandardOutput.ReaderGoneExitCode ? code : await SaveAsync(api, job.Id, save, code, cancellationToken);
        });
        return command;
    }

    /// <summary>Said by <c>run -</c> and <c>exec -</c> when stdin was closed (<c>&lt;&amp;-</c>).</summary>
    internal const string StdinClosed = "runbox: the script is to come from stdin (-), but stdin is closed (<&-)";

    /// <summary>All of stdin; nothing when Ctrl-C came during the read (the caller then stops, submitting nothing).</summary>
    private static async Task<string> ReadUntilInterruptedAsync(TextReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadToEndAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return "";
        }
    }

    /// <summary>A line as the job wrote it: with its newline, unless it was left unfinished (ended: false) and goes on in the next.</summary>
    internal static string AsWritten(LogLineResponse line) => line.Ended == false ? line.Text : line.Text + "\n";

    /// <summary>
    /// Writes a line as the job wrote it, to <paramref name="stdout"/> (<see cref="StandardOutput.OpenText"/>) or stderr by
    /// its stream; false when stdout's reader has gone (<c>| head</c>). Any other failed write (a full disk) is thrown.
    /// </summary>
    internal static async Task<bool> TryWriteAsync(LogLineResponse line, TextWriter stdout)
    {
        var writer = line.Stream == "stderr" ? Console.Error : stdout;
        try
        {
            await writer.WriteAsync(AsWritten(line));
            await writer.FlushAsync(CancellationToken.None);
            return true;
        }
        catch (IOException) when (writer == stdout && StandardOutput.CanLoseItsReader)
        {
            return false;
        }
    }

    /// <summary>A JSON document and a newline; false when stdout's reader has gone (<c>| head</c>). The job has ended: nothing to cancel.</summary>
    private static async Task<bool> TryWriteJsonAsync(byte[] json, StreamWriter stdout)
    {
        try
        {
            await stdout.FlushAsync(CancellationToken.None);
            await stdout.BaseStream.WriteAsync(json, CancellationToken.None);
            await stdout.BaseStream.WriteAsync("\n"u8.ToArray(), CancellationToken.None);
            await stdout.BaseStream.FlushAsync(CancellationToken.None);
            return true;
        }
        catch (IOException) when (StandardOutput.CanLoseItsReader)
        {
            return false;
        }
    }

    /// <summary>
    /// Streams the job to the console and returns its shell exit code; 1 when the server cannot be reached or the
    /// connection is lost, saying how to follow the job again. On Ctrl-C, 130: with <paramref name="ownsJob"/>
    /// (<c>run</c>, which submitted it) the job is cancelled too; else (<c>jobs logs -f</c>, which only watches) it keeps running.
    /// </summary>
    internal static async Task<int> FollowAsync(RunboxClient api, string id, bool json, bool ownsJob, CancellationToken cancellationToken, long afterSeq = 0)
    {
        var followed = false;
        await using var stdout = StandardOutput.OpenText();
        try
        {
            await foreach (var (line, final, finalJson) in api.EventsAsync(id, keepResultJson: json, cancellationToken, afterSeq))
            {
                followed = true;
                if (line is not null && !json)
                {
                    if (!await TryWriteAsync(line, stdout))
                    {
                        return await ReaderGoneAsync(api, id, ownsJob);
                    }
                }
                else if (final is not null)
                {
                    if (json)
                    {
                        // The server's bytes as they are, the same JSON this command used to serialize from the job it
                        // read, without reading its output (tens of MB) into a string and making another of the whole job.
                        if (!await TryWriteJsonAsync(finalJson!, stdout))
                        {
                            return StandardOutput.ReaderGoneExitCode;
                        }
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !ownsJob)
        {
            await Console.Error.WriteLineAsync($"runbox: stopped following job {id}; it keeps running");
            return 130;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelAsync(api, id, "");
            return 130;
        }
        catch (IOException e)
        {
            // The output cannot be written where it goes (a full disk): the job is not to blame, and the server keeps its output.
            await Console.Error.WriteLineAsync($"runbox: cannot write job {id}'s output: {e.Message}; that does not cancel the job: follow it again with 'runbox jobs logs {id} -f'");
            return 1;
        }
        catch (RunboxClientException e) when (e.Unreachable && (ownsJob || followed))
        {
            await Console.Error.WriteLineAsync($"runbox: lost the connection while following job {id} ({e.Message}); that does not cancel the job: follow it again with 'runbox jobs logs {id} -f'");
            return 1;
        }
        catch (RunboxClientException e) when (ownsJob && e.Status is System.Net.HttpStatusCode.TooManyRequests or System.Net.HttpStatusCode.ServiceUnavailable)
        {
            // Still busy after its waits (the key holds its most live streams, say): the job was submitted and runs on.
            await Console.Error.WriteLineAsync($"runbox: {e.Message.TrimEnd('.')}; job {id} keeps running: follow it with 'runbox jobs logs {id} -f'");
            return 1;
        }
        catch (RunboxClientException e)
        {
            await Console.Error.WriteLineAsync($"runbox: {e.Message}");
            return e.ExitCode;
        }
    }

    /// <summary>
    /// Stdout was closed (<c>| head</c>): <c>run</c> cancels its job, as the script itself would have died of SIGPIPE
    /// writing into the closed pipe; <c>jobs logs -f</c> only stops watching. 141 either way, as for SIGPIPE.
    /// </summary>
    private static async Task<int> ReaderGoneAsync(RunboxClient api, string id, bool ownsJob)
    {
        if (ownsJob)
        {
            await CancelAsync(api, id, " (its output's reader went away)");
        }
        return StandardOutput.ReaderGoneExitCode;
    }

    /// <summary>Cancels the job run submitted, bounded in time: the user is leaving, and so is this process.</summary>
    private static async Task CancelAsync(RunboxClient api, string id, string why)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await api.CancelAsync(id, deadline.Token);
            await Console.Error.WriteLineAsync($"runbox: cancelled job {id}{why}");
        }
        catch (Exception e) when (e is RunboxClientException or OperationCanceledException or HttpRequestException)
        {
            await Console.Error.WriteLineAsync($"runbox: could not cancel job {id}: {e.Message}");
        }
    }

    /// <summary>Downloads the ended job's artifacts; the script's exit code, or 1 for a failed save after a job that succeeded.</summary>
    private static async Task<int> SaveAsync(RunboxClient api, string id, string folder, int code, CancellationToken ct)
    {
        try
        {
            await SavedArtifacts.DownloadAsync(api, id, (await api.ArtifactsAsync(id, ct)).Artifacts, folder, ct);
            return code;
        }
        catch (Exception e) when (e is RunboxClientException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"runbox: could not save job {id}'s artifacts: {e.Message}");
            return code == 0 ? 1 : code;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string LanguageOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".sh" or ".bash" => JobLanguage.Bash.ToWire(),
        ".js" or ".mjs" or ".cjs" => JobLanguage.Node.ToWire(),
        _ => JobLanguage.Python.ToWire(),
    };
}

using System.CommandLine;
using System.Text;
using System.Text.Json;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox exec FILE</c>: runs one script locally through the engine, without a server.</summary>
internal static class ExecCommand
{
    public static Command Create()
    {
        var scriptOptions = new ScriptOptions(local: true);
        var json = new Option<bool>("--json") { Description = "Print the whole result as one JSON object instead of the output." };
        var command = new Command("exec", "Run a script locally through the engine, without a server.");
        scriptOptions.AddTo(command);
        command.Options.Add(json);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (scriptOptions.Refusal(parse) is { } refusal)
            {
                await Console.Error.WriteLineAsync($"runbox: {refusal}");
                return 2;
            }
            var path = parse.GetValue(scriptOptions.File)!;
            var language = ChooseLanguage(parse.GetValue(scriptOptions.Lang), path);
            if (language is null)
            {
                await Console.Error.WriteLineAsync($"runbox: unknown language '{parse.GetValue(scriptOptions.Lang)}'; use python, bash or node.");
                return 2;
            }
            var save = parse.GetValue(scriptOptions.Save);
            if (path == "-" && StandardStreams.InputClosed)
            {
                await Console.Error.WriteLineAsync(RunCommand.StdinClosed);
                return 2;
            }
            var (script, unreadable) = path == "-" ? (await ReadAllAsync(Console.OpenStandardInput(), cancellationToken), null) : await ScriptOptions.ReadFileAsync(path, cancellationToken);
            if (script is null)
            {
                await Console.Error.WriteLineAsync($"runbox: {unreadable}");
                return 2;
            }
            // Only once the script is there: a missing script leaves no folder behind.
            if (save is not null && SavedArtifacts.Prepare(save) is { } unusable)
            {
                await Console.Error.WriteLineAsync($"runbox: {unusable}");
                return 2;
            }
            byte[]? stdin = null;
            if (path != "-" && StandardStreams.InputRedirected)
            {
                stdin = await ReadAllAsync(Console.OpenStandardInput(), cancellationToken);
            }
            var entry = path == "-" ? language.Value.DefaultEntrypoint() : Path.GetFileName(path);
            var request = new JobRequest
            {
                Language = language.Value,
                Files = new Dictionary<string, byte[]> { [entry] = script },
                Entrypoint = entry,
                Args = parse.GetValue(scriptOptions.Args) ?? [],
                Stdin = stdin,
                Network = parse.GetValue(scriptOptions.Network),
                Fresh = parse.GetValue(scriptOptions.Fresh),
                ArtifactDirectory = save is null ? null : Path.GetFullPath(save),
                Limits = new JobLimits
                {
                    Timeout = parse.GetValue(scriptOptions.Timeout) is { } t ? TimeSpan.FromSeconds(t) : null,
                    MemoryBytes = parse.GetValue(scriptOptions.Memory) * 1024 * 1024,
                    CpuSeconds = parse.GetValue(scriptOptions.Cpu),
                    DiskBytes = parse.GetValue(scriptOptions.Disk) * 1024 * 1024,
                    OutputBytes = scriptOptions.OutputBytes(parse),
                },
            };
            var options = new EngineOptions { Slots = 1, PoolSize = 1, AllowNetwork = parse.GetValue(scriptOptions.Network) };
            if (Environment.GetEnvironmentVariable("RUNBOX_WORK_ROOT") is { Length: > 0 } workRoot)
            {
                options = options with { WorkRoot = workRoot };
            }
            await using var engine = new JobEngine(options);
            var execution = await engine.StartAsync(request, cancellationToken);
            using var cancel = cancellationToken.Register(execution.Cancel);
            if (parse.GetValue(json))
            {
                var result = await execution.Completion;
                // Straight to stdout, the output decoded a piece at a time, not made into strings (see Utf8TextConverter).
                await using (var stdout = StandardOutput.Open())
                {
                    try
                    {
                        await JsonSerializer.SerializeAsync(stdout, JobResultJson.From(result), CliJson.Readable.JobResultJson, CancellationToken.None);
                        await stdout.WriteAsync("\n"u8.ToArray(), CancellationToken.None);
                        await stdout.FlushAsync(CancellationToken.None);
                    }
                    catch (IOException) when (StandardOutput.CanLoseItsReader)
                    {
                        // The script has ended: nothing to stop.
                        return StandardOutput.ReaderGoneExitCode;
                    }
                    catch (IOException e)
                    {
                        await Console.Error.WriteLineAsync($"runbox: cannot write the script's result: {e.Message}");
                        return 1;
                    }
                }
                await ReportSavedAsync(result, save);
                return result.ShellExitCode;
            }
            JobResult? ended;
            try
            {
                ended = await LiveOutput.WriteAsync(execution);
            }
            catch (IOException e)
            {
                // Nothing else keeps a local script's output: it is stopped rather than left to run unseen.
                await Console.Error.WriteLineAsync($"runbox: cannot write the script's output: {e.Message}; the script was stopped");
                return 1;
            }
            if (ended is not { } final)
            {
                return StandardOutput.ReaderGoneExitCode;
            }
            await ReportSavedAsync(final, save);
            if (final.Status == JobStatus.Error)
            {
                await Console.Error.WriteLineAsync($"runbox: {final.Error}");
            }
            else if (final.LimitExceeded != LimitKind.None)
            {
                await Console.Error.WriteLineAsync($"runbox: job {final.Status.ToWire()}: {final.LimitExceeded.ToWire()} limit exceeded");
            }
            return final.ShellExitCode;
        });
        return command;
    }

    /// <summary>The engine copied the artifacts into the folder as the job ended; this says so.</summary>
    private static async Task ReportSavedAsync(JobResult result, string? save)
    {
        if (save is not null)
        {
            await Console.Error.WriteLineAsync(SavedArtifacts.Summary(result.Artifacts.Count, save));
        }
    }

    private static JobLanguage? ChooseLanguage(string? asked, string path)
    {
        if (asked is not null)
        {
            return JobLanguageExtensions.TryParse(asked, out var chosen) ? chosen : null;
        }
        return Path.GetExtension(path) switch
        {
            ".sh" or ".bash" => JobLanguage.Bash,
            ".js" or ".mjs" or ".cjs" => JobLanguage.Node,
            _ => JobLanguage.Python,
        };
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }
}

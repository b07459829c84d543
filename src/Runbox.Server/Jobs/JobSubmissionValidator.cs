using System.Text;
using System.Text.RegularExpressions;
using Runbox.Execution.Jobs;
using Runbox.Server.Configuration;
using Runbox.Server.Http;
using Runbox.Server.Webhooks;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Jobs;

/// <summary>
/// Turns a submission into a <see cref="JobSpec"/> or into a list of errors keyed by field (snake_case, dotted
/// paths), each naming the rule broken, so a client can fix every mistake in one go.
/// </summary>
public static partial class JobSubmissionValidator
{
    public static JobSpec? Validate(JobSubmission body, RunboxOptions options, out Dictionary<string, string[]> errors)
    {
        var found = new Dictionary<string, List<string>>();
        void Add(string field, string message)
        {
            if (!found.TryGetValue(field, out var list))
            {
                found[field] = list = [];
            }
            list.Add(message);
        }

        var max = options.Maximums;

        var language = JobLanguage.Python;
        if (body.Language is not null && !JobLanguageExtensions.TryParse(body.Language, out language))
        {
            Add("language", $"must be one of python, bash, node (got '{Clip(body.Language)}').");
        }

        var runtime = body.Runtime ?? "default";
        if (!RuntimeName().IsMatch(runtime))
        {
            Add("runtime", "must be a runtime name: 1-64 of a-z, 0-9, '.', '_', '-' starting with a letter or digit (never an interpreter path).");
        }

        var hasScript = body.Script is not null;
        var hasFiles = body.Files is { Count: > 0 };
        if (hasScript == hasFiles)
        {
            Add(hasScript ? "files" : "script", "exactly one of script and files is required.");
        }
        if (hasScript && body.Script!.Contains('\0'))
        {
            Add("script", "must not contain NUL characters.");
        }
        if (body.Files is { } files)
        {
            if (files.Count > max.Files)
            {
                Add("files", $"at most {max.Files} files are allowed (got {files.Count}).");
            }
            foreach (var (name, content) in files)
            {
                if (FileNameProblem(name) is { } problem)
                {
                    Add(FieldNames.Member("files", Clip(name)), problem);
                }
                else if (content is null)
                {
                    // null reads as no bytes: the job would run an empty file and succeed.
                    Add(FieldNames.Member("files", Clip(name)), "must be the file's content as base64 text (\"\" for an empty file).");
                }
            }
        }
        if (body.Entrypoint is { } entrypoint)
        {
            if (FileNameProblem(entrypoint) is { } problem)
            {
                Add("entrypoint", problem);
            }
            else if (hasFiles && !body.Files!.ContainsKey(entrypoint))
            {
                Add("entrypoint", "must name one of the files.");
            }
            else if (hasScript && entrypoint.Contains('/'))
            {
                // With a script it names the one file the script is written to (what __file__ and tracebacks say): a
                // plain name in the working folder, run there as `python report.py` would be.
                Add("entrypoint", "with script, must be a file name without '/' (as report.py).");
            }
        }
        else if (hasFiles && !body.Files!.ContainsKey(language.DefaultEntrypoint()))
        {
            Add("entrypoint", $"is required when files has no {language.DefaultEntrypoint()}.");
        }

        if (body.Args is { } args)
        {
            if (args.Count > max.Args)
            {
                Add("args", $"at most {max.Args} arguments are allowed (got {args.Count}).");
            }
            for (var i = 0; i < args.Count; i++)
            {
                if (args[i] is null)
                {
                    Add($"args[{i}]", "must be a string.");
                }
                else if (args[i].Contains('\0'))
                {
                    Add($"args[{i}]", "must not contain NUL characters.");
                }
                else if (args[i].Length > max.ValueChars)
                {
                    Add($"args[{i}]", $"must be at most {max.ValueChars} characters.");
                }
            }
        }

        if (body.Env is { } env)
        {
            if (env.Count > max.EnvVars)
            {
                Add("env", $"at most {max.EnvVars} variables are allowed (got {env.Count}).");
            }
            foreach (var (key, value) in env)
            {
                if (!EnvName().IsMatch(key))
                {
                    Add($"env[{Clip(key)}]", "the name must be 1-128 of A-Z, a-z, 0-9, '_', not starting with a digit.");
                }
                else if (value is null)
                {
                    Add($"env.{key}", "must be a string.");
                }
                else if (value.Contains('\0'))
                {
                    Add($"env.{key}", "must not contain NUL characters.");
                }
                else if (value.Length > max.ValueChars)
                {
                    Add($"env.{key}", $"must be at most {max.ValueChars} characters.");
                }
            }
        }

        var limits = body.Limits ?? new JobLimitsBody();
        CheckLimit(limits.TimeoutSeconds, max.TimeoutSeconds, "limits.timeout_seconds", "seconds", Add);
        CheckLimit(limits.CpuSeconds, max.CpuSeconds, "limits.cpu_seconds", "seconds", Add);
        CheckLimit(limits.MemoryMb, max.MemoryMb, "limits.memory_mb", "MB", Add);
        CheckLimit(limits.Processes, max.Processes, "limits.processes", "processes", Add);
        CheckLimit(limits.OutputBytes, max.OutputBytes, "limits.output_bytes", "bytes", Add);
        CheckLimit(limits.FileSizeMb, max.FileSizeMb, "limits.file_size_mb", "MB", Add);
        CheckLimit(limits.DiskMb, max.DiskMb, "limits.disk_mb", "MB", Add);

        if (body.MaxAttempts is { } attempts && (attempts < 1 || attempts > max.Attempts))
        {
            Add("max_attempts", $"must be between 1 and {max.Attempts} (the server maximum).");
        }

        if (body.Network == true && !options.AllowNetwork)
        {
            Add("network", "this server does not allow network access for jobs.");
        }

        if (body.CallbackUrl is { } callback && CallbackAddressPolicy.CheckUrl(callback, options.Webhooks.AllowPrivateAddresses) is { } callbackProblem)
        {
            Add("callback_url", callbackProblem);
        }

        errors = found.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray());
        if (errors.Count > 0)
        {
            return null;
        }

        return new JobSpec
        {
            Language = language.ToWire(),
            Script = body.Script,
            Files = body.Files,
            Entrypoint = body.Entrypoint,
            // Runtimes are Python environments: Bash and Node.js jobs ignore the name, and run where any worker claims
            // them (a runtime no worker has ready would leave them queued for good).
            Runtime = language == JobLanguage.Python ? runtime : "default",
            Args = body.Args ?? [],
            Stdin = body.Stdin is null ? null : Encoding.UTF8.GetBytes(body.Stdin),
            Env = body.Env ?? [],
            TimeoutSeconds = limits.TimeoutSeconds,
            CpuSeconds = limits.CpuSeconds,
            MemoryMb = limits.MemoryMb,
            Processes = limits.Processes,
            OutputBytes = limits.OutputBytes,
            FileSizeMb = limits.FileSizeMb,
            DiskMb = limits.DiskMb,
            Network = body.Network ?? false,
            Fresh = body.Fresh ?? false,
            CallbackUrl = body.CallbackUrl,
            MaxAttempts = body.MaxAttempts ?? 1,
        };
    }

    /// <summary>Why a relative file name is unsafe, or null when it is fine.</summary>
    public static string? FileNameProblem(string name)
    {
        if (name.Length is 0 or > 255)
        {
            return "a file name must be 1-255 characters.";
        }
        if (name.StartsWith('/') || name.Contains('\\'))
        {
            return "a file name must be relative and use '/' (no absolute paths, no backslashes).";
        }
        if (name.Any(char.IsControl))
        {
            return "a file name must not contain control characters (NUL, newlines...).";
        }
        if (name.Split('/').Any(part => part is "" or "." or ".."))
        {
            return "a file name must not contain '.', '..' or empty path segments.";
        }
        return null;
    }

    /// <param name="unit">Named in the message, so that it reads right where the value was given in other units (the
    /// compatibility adapters' "100g").</param>
    private static void CheckLimit(double? value, double maximum, string field, string unit, Action<string, string> add)
    {
        if (value is not { } v)
        {
            return;
        }
        // 1e400 reads as infinity: it is above the maximum, not below 0.
        if (!(v > 0))
        {
            add(field, "must be greater than 0.");
        }
        else if (v > maximum)
        {
            add(field, $"must be at most {maximum} {unit} (the server maximum).");
        }
    }

    private static string Clip(string text) => text.Length <= 64 ? text.Replace('\0', '?') : text[..64].Replace('\0', '?') + "...";

    // \z, not $: $ also matches before a final newline, which would let "default\n" through.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z")]
    private static partial Regex RuntimeName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,127}\z")]
    private static partial Regex EnvName();
}

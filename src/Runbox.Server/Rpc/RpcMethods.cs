using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;
using Runbox.Server.Auth;
using Runbox.Server.Health;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Runtimes;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Rpc;

/// <summary>
/// The JSON-RPC methods. Sessions are jobs (session_id = job id, same ownership rules as the REST API); runtime
/// methods change the host and need an admin key (the Unix socket acts as admin).
/// </summary>
public sealed class RpcMethods(JobService jobs, RuntimeManager runtimes)
{
    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement.Clone();

    private delegate Task<JsonElement> Method(JsonElement? parameters, Caller caller, CancellationToken cancellationToken);

    public static IReadOnlyList<string> Names { get; } =
    [
        "health", "session_start", "session_stop", "session_delete", "session_list", "session_get", "session_logs", "session_result",
        "runtime_init", "runtime_list", "runtime_get", "runtime_install", "runtime_delete", "runtime_test",
    ];

    /// <summary>Runs one method; throws <see cref="RpcException"/> for every error the caller should see.</summary>
    public async Task<JsonElement> InvokeAsync(string method, JsonElement? parameters, Caller caller, CancellationToken cancellationToken)
    {
        Method? run = method switch
        {
            "health" => HealthAsync,
            "session_start" => SessionStartAsync,
            "session_stop" => SessionStopAsync,
            "session_delete" => SessionDeleteAsync,
            "session_list" => SessionListAsync,
            "session_get" => SessionGetAsync,
            "session_logs" => SessionLogsAsync,
            "session_result" => SessionResultAsync,
            "runtime_init" => RuntimeInitAsync,
            "runtime_list" => RuntimeListAsync,
            "runtime_get" => RuntimeGetAsync,
            "runtime_install" => RuntimeInstallAsync,
            "runtime_delete" => RuntimeDeleteAsync,
            "runtime_test" => RuntimeTestAsync,
            _ => null,
        };
        if (run is null)
        {
            throw new RpcException(RpcException.MethodNotFound, "Method not found", $"there is no method '{method}'; see GET /discovery");
        }
        try
        {
            return await run(parameters, caller, cancellationToken);
        }
        catch (RuntimeRequestException e)
        {
            throw e.Status switch
            {
                StatusCodes.Status400BadRequest => RpcException.Params((e.Field is { } field ? field + ": " : "") + e.Message),
                StatusCodes.Status404NotFound => new RpcException(RpcException.NotFound, "Not found", e.Message),
                _ => new RpcException(RpcException.Conflict, "Conflict", e.Message),
            };
        }
    }

    private static JsonElement Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) => JsonSerializer.SerializeToElement(value, type);

    private static Task<JsonElement> HealthAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        _ = new RpcParams(parameters);
        return Task.FromResult(Json(new RpcHealth("ok", "runbox", ServerVersion.Current), RpcJsonContext.Default.RpcHealth));
    }

    private async Task<JsonElement> SessionStartAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "script", "script_kind", "runtime_name", "working_dir", "env_vars", "timeout_ms");
        var script = p.RequiredString("script");
        var kind = p.OptionalString("script_kind") ?? "code";
        if (kind is not ("code" or "file"))
        {
            throw RpcException.Params("script_kind must be \"code\" or \"file\"");
        }
        var workingDir = p.OptionalString("working_dir");
        if ((kind == "file" || workingDir is not null) && !caller.IsAdmin)
        {
            throw new RpcException(RpcException.Forbidden, "Forbidden", "script_kind \"file\" and working_dir read the host's files: they need an admin key or the Unix socket");
        }
        if (kind == "file")
        {
            script = await ReadScriptFileAsync(script, ct);
        }
        if (workingDir is not null && (!Path.IsPathRooted(workingDir) || !Directory.Exists(workingDir)))
        {
            throw RpcException.Params($"working_dir '{workingDir}' is not an existing absolute folder");
        }
        var timeoutMs = p.OptionalInteger("timeout_ms", 1, (long)(jobs.Options.Maximums.TimeoutSeconds * 1000));
        var submission = new JobSubmission
        {
            Script = script,
            Runtime = p.OptionalString("runtime_name"),
            Env = p.OptionalStringMap("env_vars"),
            Limits = timeoutMs is { } ms ? new JobLimitsBody { TimeoutSeconds = ms / 1000.0 } : null,
        };
        var spec = JobSubmissionValidator.Validate(submission, jobs.Options, out var errors);
        if (spec is null)
        {
            // The validator names the REST fields; a JSON-RPC caller sent these (env[NAME] is a variable's name, env.NAME
            // its value, in env_vars).
            var rename = new Dictionary<string, string> { ["runtime"] = "runtime_name", ["env"] = "env_vars", ["limits.timeout_seconds"] = "timeout_ms" };
            string Rename(string field) => rename.GetValueOrDefault(field)
                ?? (field.StartsWith("env[", StringComparison.Ordinal) || field.StartsWith("env.", StringComparison.Ordinal) ? "env_vars" + field[3..] : field);
            throw RpcException.Params(string.Join(" ", errors.Select(e => $"{Rename(e.Key)}: {string.Join(" ", e.Value)}")));
        }
        try
        {
            var job = await jobs.SubmitAsync(spec with { WorkingDirectory = workingDir }, caller, ct);
            return Json(new RpcSessionStarted(job.Id), RpcJsonContext.Default.RpcSessionStarted);
        }
        catch (RuntimeRequestException e) when (e.Field == "runtime")
        {
            // Its words name the REST field and endpoint ("runtime", POST /api/v1/runtimes), which this caller never used.
            throw RpcException.Params($"runtime_name: there is no runtime '{spec.Runtime}'; create it first (runtime_init).");
        }
    }

    /// <summary>
    /// The text of the host file <c>script_kind: "file"</c> names. Only a regular file: a FIFO would hold the call (and a
    /// server thread) until something wrote to it, and a device such as /dev/zero never ends; both are refused, opened
    /// without blocking, before anything is read.
    /// </summary>
    private async Task<string> ReadScriptFileAsync(string path, CancellationToken ct)
    {
        // A NUL would end the path where open(2) reads it: "/a.py\0x" would open /a.py.
        var openable = Path.IsPathRooted(path) && !path.Contains('\0');
        var fd = openable ? Libc.OpenForReading(path) : -1;
        if (fd < 0)
        {
            var errno = openable ? Marshal.GetLastPInvokeError() : Libc.ENOENT;
            throw RpcException.Params(errno is Libc.ENOENT or Libc.ENOTDIR
                ? $"script: '{path}' is not an existing file given by an absolute path (script_kind \"file\")"
                : $"script: '{path}' cannot be read: {Marshal.GetPInvokeErrorMessage(errno)} (script_kind \"file\")");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (!Libc.IsRegularFile(fd))
        {
            throw RpcException.Params($"script: '{path}' is not a regular file (a folder, FIFO, device or socket); script_kind \"file\" reads a script file");
        }
        if (RandomAccess.GetLength(handle) > jobs.Options.MaxRequestBodyBytes)
        {
            throw RpcException.Params($"script: '{path}' is larger than {jobs.Options.MaxRequestBodyBytes} bytes");
        }
        // UTF-8 unless a byte order mark says otherwise, as File.ReadAllText reads it, but strict: bytes that are not
        // UTF-8 became U+FFFD, so a Latin-1 script ran with its text changed (and REST refuses such a script string).
        await using var stream = new FileStream(handle, FileAccess.Read);
        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        try
        {
            return await reader.ReadToEndAsync(ct);
        }
        catch (DecoderFallbackException)
        {
            throw RpcException.Params($"script: '{path}' is not UTF-8 text; send its text as script (script_kind \"code\") in UTF-8");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <param name="withOutput">False where only the session's status is needed (stop, delete, logs): see <see cref="JobService.FindAsync"/>.</param>
    /// <param name="withSubmission">False where the script is not answered (all but session_get and session_result).</param>
    private async Task<JobRecord> FindSessionAsync(RpcParams p, Caller caller, CancellationToken ct, bool withOutput = true, bool withSubmission = true)
    {
        var id = p.RequiredString("session_id");
        return await jobs.FindAsync(id, caller, ct, withOutput, withSubmission) ?? throw new RpcException(RpcException.NotFound, "Not found", $"there is no session '{id}' visible to this key");
    }

    private async Task<JsonElement> SessionStopAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var job = await FindSessionAsync(new RpcParams(parameters, "session_id"), caller, ct, withOutput: false, withSubmission: false);
        var changed = job.Status.IsTerminal() ? job : await jobs.RequestCancelAsync(job.Id, ct) ?? job;
        return Json(new RpcSessionStopped(job.Id, changed.Status.ToWire()), RpcJsonContext.Default.RpcSessionStopped);
    }

    private async Task<JsonElement> SessionDeleteAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var job = await FindSessionAsync(new RpcParams(parameters, "session_id"), caller, ct, withOutput: false, withSubmission: false);
        if (!job.Status.IsTerminal())
        {
            await jobs.Store.RequestCancelAsync(job.Id, ct);
        }
        return Json(new RpcDeleted(await jobs.Store.DeleteJobAsync(job.Id, ct)), RpcJsonContext.Default.RpcDeleted);
    }

    private async Task<JsonElement> SessionListAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "limit", "status", "cursor");
        JobStatus? status = null;
        if (p.OptionalString("status") is { } text)
        {
            status = JobStatusExtensions.TryParseWire(text, out var parsed) ? parsed
                : throw RpcException.Params("status must be one of queued, running, succeeded, failed, timed_out, cancelled, error");
        }
        var cursor = p.OptionalString("cursor");
        if (cursor is not null && !JobCursor.TryDecode(cursor, out _))
        {
            throw RpcException.Params("cursor is not one this server gave out");
        }
        var page = await jobs.Store.ListJobsAsync(new JobQuery
        {
            Owner = caller.IsAdmin ? null : caller.KeyId,
            Status = status,
            Limit = (int)(p.OptionalInteger("limit", 1, 200) ?? 50),
            Cursor = cursor,
            // Listed sessions carry their stdout and stderr, as session_get answers them (docs/rpc.md).
            WithOutput = true,
        }, ct);
        return Json(new RpcSessionList(page.Jobs.Select(j => j.ToResponse()).ToList(), page.NextCursor), RpcJsonContext.Default.RpcSessionList);
    }

    private async Task<JsonElement> SessionGetAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var job = await FindSessionAsync(new RpcParams(parameters, "session_id"), caller, ct);
        var artifacts = job.Status.IsTerminal() ? await jobs.Store.ListArtifactsAsync(job.Id, ct) : null;
        // As GET /api/v1/jobs/{id}: the script, args and stdin too, so a session can be run again.
        return Json(job.ToResponse(artifacts, withSubmission: true), RunboxJsonContext.Default.JobResponse);
    }

    private async Task<JsonElement> SessionLogsAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "session_id", "after_seq", "limit");
        var after = p.OptionalInteger("after_seq", 0, long.MaxValue) ?? 0;
        var limit = (int)(p.OptionalInteger("limit", 1, 5000) ?? 1000);
        var job = await FindSessionAsync(p, caller, ct, withOutput: false, withSubmission: false);
        var lines = await jobs.Store.ReadLogsAsync(job.Id, after, limit, ct);
        var next = lines.Count > 0 ? lines[^1].Seq : after;
        return Json(new RpcSessionLogs(lines.Select(l => l.ToResponse()).ToList(), next, job.Status.IsTerminal() && lines.Count < limit),
            RpcJsonContext.Default.RpcSessionLogs);
    }

    private async Task<JsonElement> SessionResultAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var job = await FindSessionAsync(new RpcParams(parameters, "session_id"), caller, ct);
        if (!job.Status.IsTerminal())
        {
            return Null; // the spec's "result": null while the session runs
        }
        return Json(job.ToResponse(await jobs.Store.ListArtifactsAsync(job.Id, ct), withSubmission: true), RunboxJsonContext.Default.JobResponse);
    }

    private static void RequireAdmin(Caller caller)
    {
        if (!caller.IsAdmin)
        {
            throw new RpcException(RpcException.Forbidden, "Forbidden", "runtime methods need an admin key (or the Unix socket)");
        }
    }

    private static JsonElement Runtime(Storage.Runtimes.RuntimeRecord runtime) => Json(RuntimeResponse.From(runtime), RunboxJsonContext.Default.RuntimeResponse);

    private async Task<JsonElement> RuntimeInitAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "name", "python_version", "modules", "preload", "system_site_packages");
        RequireAdmin(caller);
        return Runtime(await runtimes.CreateAsync(p.RequiredString("name"), p.OptionalString("python_version"), p.OptionalStringList("modules"),
            p.OptionalStringList("preload"), p.OptionalBoolean("system_site_packages") ?? false, ct));
    }

    private async Task<JsonElement> RuntimeListAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        _ = new RpcParams(parameters);
        RequireAdmin(caller);
        var all = (await runtimes.ListAsync(ct)).Select(RuntimeResponse.From).ToList();
        return Json(new RuntimeListResponse(all), RunboxJsonContext.Default.RuntimeListResponse);
    }

    private async Task<JsonElement> RuntimeGetAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "name");
        RequireAdmin(caller);
        return Runtime(await runtimes.GetAsync(p.RequiredString("name"), ct));
    }

    private async Task<JsonElement> RuntimeInstallAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "name", "modules", "preload", "remove_preload");
        RequireAdmin(caller);
        var modules = p.OptionalStringList("modules");
        var preload = p.OptionalStringList("preload");
        var removePreload = p.OptionalStringList("remove_preload");
        if ((modules?.Count ?? 0) == 0 && (preload?.Count ?? 0) == 0 && (removePreload?.Count ?? 0) == 0)
        {
            throw RpcException.Params("modules is required (a non-empty array of package requirements), unless preload or remove_preload is given");
        }
        return Runtime(await runtimes.InstallAsync(p.RequiredString("name"), modules, preload, removePreload, ct));
    }

    private async Task<JsonElement> RuntimeDeleteAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "name", "force");
        RequireAdmin(caller);
        await runtimes.DeleteAsync(p.RequiredString("name"), p.OptionalBoolean("force") ?? false, ct);
        return Json(new RpcDeleted(true), RpcJsonContext.Default.RpcDeleted);
    }

    private async Task<JsonElement> RuntimeTestAsync(JsonElement? parameters, Caller caller, CancellationToken ct)
    {
        var p = new RpcParams(parameters, "name");
        RequireAdmin(caller);
        return Runtime(await runtimes.TestAsync(p.RequiredString("name"), ct));
    }
}

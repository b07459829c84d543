using System.Globalization;
using System.Net;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>
/// Starts a run on a remote service and polls it to its end. The kick-off request comes from the same metadata as
/// the <c>http</c> runner (method POST by default) and must answer 2xx (normally 202) with the run id at
/// <c>http_async.run_id_path</c>. Then <c>http_async.poll_url</c>, with <c>{run_id}</c> replaced, is fetched every
/// <c>http_async.poll_interval_ms</c> until the state at <c>http_async.status_path</c> is one of
/// <c>http_async.terminal_states</c>; it succeeded when that state is one of <c>http_async.success_states</c>.
/// Poll answers in <c>http_async.pending_status_codes</c> (say 404 before the run is visible) mean "not yet".
/// The invocation's deadline ends the polling as <see cref="RuntimeStatus.TimedOut"/>.
/// </summary>
public sealed class HttpAsyncRunner(HttpClient? client = null) : IRuntimeRunner
{
    /// <summary>Metadata key: the poll URL, with <c>{run_id}</c> replaced.</summary>
    public const string PollUrlKey = "http_async.poll_url";
    /// <summary>Metadata key: dotted JSON path of the run id in the kick-off answer.</summary>
    public const string RunIdPathKey = "http_async.run_id_path";
    /// <summary>Metadata key: dotted JSON path of the state in a poll answer.</summary>
    public const string StatusPathKey = "http_async.status_path";
    /// <summary>Metadata key: states that end polling, comma-separated.</summary>
    public const string TerminalStatesKey = "http_async.terminal_states";
    /// <summary>Metadata key: terminal states that mean success, comma-separated.</summary>
    public const string SuccessStatesKey = "http_async.success_states";
    /// <summary>Metadata key: poll answer status codes meaning "not yet", comma-separated.</summary>
    public const string PendingStatusCodesKey = "http_async.pending_status_codes";
    /// <summary>Metadata key: milliseconds between polls.</summary>
    public const string PollIntervalKey = "http_async.poll_interval_ms";

    /// <summary>Written to the result metadata as soon as it is known, so a timed-out run can still be found.</summary>
    public const string RunIdMetadata = "http_async.run_id";
    /// <summary>Result metadata: the last state seen.</summary>
    public const string StateMetadata = "http_async.state";

    private readonly HttpClient _client = client ?? HttpRunnerClient.Shared;

    /// <inheritdoc/>
    public bool RequiresCommand => false;

    /// <inheritdoc/>
    public async Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken)
    {
        var (spec, specError) = await HttpRequestSpec.ReadAsync(invocation, "POST", cancellationToken);
        var (settings, settingsError) = PollSettings.Read(invocation.Metadata);
        if (spec is null || settings is null)
        {
            return RuntimeResult.Rejected(string.Join(" ", new[] { specError, settingsError }.Where(error => error is not null)));
        }

        string runId;
        byte[] lastAnswer;
        using (var request = spec.Build())
        using (var response = await _client.SendAsync(request, cancellationToken))
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var status = (int)response.StatusCode;
            context.Metadata["http.status"] = status.ToString(CultureInfo.InvariantCulture);
            if (!response.IsSuccessStatusCode)
            {
                await context.WriteStdoutAsync(body, cancellationToken);
                return RuntimeResult.Failed(status, $"The kick-off {spec.Method} {spec.Url} answered {status} {response.ReasonPhrase}.");
            }
            if (DottedJsonPath.Read(body, settings.RunIdPath) is not { Length: > 0 } id)
            {
                await context.WriteStdoutAsync(body, cancellationToken);
                return RuntimeResult.Failed(null, $"The kick-off answer has no run id at '{settings.RunIdPath}'.");
            }
            runId = id;
            lastAnswer = body;
        }
        context.Metadata[RunIdMetadata] = runId;
        context.Report(LogStream.Stderr, $"started run {runId}");

        var pollUrl = HttpRequestSpec.ParseUrl(settings.PollUrlTemplate.Replace("{run_id}", Uri.EscapeDataString(runId), StringComparison.Ordinal));
        if (pollUrl is null)
        {
            return RuntimeResult.Failed(null, $"'{PollUrlKey}' with run id '{runId}' is not an http or https URL.");
        }

        try
        {
            return await PollAsync(context, spec, settings, pollUrl, runId, answer => lastAnswer = answer, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Cut at the deadline or cancelled: the stdout file is still the last answer (the kick-off's if none came).
            await context.WriteStdoutAsync(lastAnswer, CancellationToken.None);
            throw;
        }
    }

    private async Task<RuntimeResult> PollAsync(RunnerContext context, HttpRequestSpec spec, PollSettings settings, Uri pollUrl, string runId,
        Action<byte[]> answered, CancellationToken cancellationToken)
    {
        string? lastState = null;
        while (true)
        {
            using var request = spec.Build(pollUrl, HttpMethod.Get, withBody: false);
            using var response = await _client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            answered(body);
            var status = (int)response.StatusCode;
            context.Metadata["http.status"] = status.ToString(CultureInfo.InvariantCulture);
            if (settings.PendingStatusCodes.Contains(response.StatusCode))
            {
                await Task.Delay(settings.PollInterval, context.TimeProvider, cancellationToken);
                continue;
            }
            if (!response.IsSuccessStatusCode)
            {
                await context.WriteStdoutAsync(body, cancellationToken);
                return RuntimeResult.Failed(status, $"Polling {pollUrl} answered {status} {response.ReasonPhrase}.");
            }
            if (DottedJsonPath.Read(body, settings.StatusPath) is not { } state)
            {
                await context.WriteStdoutAsync(body, cancellationToken);
                return RuntimeResult.Failed(null, $"The poll answer has no state at '{settings.StatusPath}'.");
            }
            context.Metadata[StateMetadata] = state;
            if (state != lastState)
            {
                context.Report(LogStream.Stderr, $"run {runId}: {state}");
                lastState = state;
            }
            if (settings.TerminalStates.Contains(state))
            {
                await context.WriteStdoutAsync(body, cancellationToken);
                return settings.SuccessStates.Contains(state)
                    ? RuntimeResult.FromExitCode(0)
                    : RuntimeResult.Failed(1, $"Run {runId} ended in state '{state}'.");
            }
            await Task.Delay(settings.PollInterval, context.TimeProvider, cancellationToken);
        }
    }

    private sealed record PollSettings(
        string PollUrlTemplate,
        string RunIdPath,
        string StatusPath,
        HashSet<string> TerminalStates,
        HashSet<string> SuccessStates,
        HashSet<HttpStatusCode> PendingStatusCodes,
        TimeSpan PollInterval)
    {
        public static (PollSettings?, string?) Read(Dictionary<string, string> metadata)
        {
            var errors = new List<string>();
            var template = metadata.GetValueOrDefault(PollUrlKey);
            if (string.IsNullOrWhiteSpace(template))
            {
                errors.Add($"metadata '{PollUrlKey}' is required (a URL, '{{run_id}}' where the run id goes).");
            }
            var success = States(metadata, SuccessStatesKey, "succeeded,success,completed");
            var terminal = States(metadata, TerminalStatesKey, "succeeded,success,completed,failed,failure,error,cancelled,canceled");
            // A success state is terminal whether or not the caller listed it twice.
            terminal.UnionWith(success);
            var pending = new HashSet<HttpStatusCode>();
            foreach (var code in List(metadata.GetValueOrDefault(PendingStatusCodesKey) ?? ""))
            {
                if (int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 100 and <= 599)
                {
                    pending.Add((HttpStatusCode)number);
                }
                else
                {
                    errors.Add($"metadata '{PendingStatusCodesKey}' has '{code}', not an HTTP status code.");
                }
            }
            var interval = 1000;
            if (metadata.GetValueOrDefault(PollIntervalKey) is { } intervalText
                && !(int.TryParse(intervalText, NumberStyles.None, CultureInfo.InvariantCulture, out interval) && interval > 0))
            {
                errors.Add($"metadata '{PollIntervalKey}' must be a positive number of milliseconds, not '{intervalText}'.");
            }
            if (errors.Count > 0)
            {
                return (null, string.Join(" ", errors));
            }
            return (new PollSettings(
                template!,
                metadata.GetValueOrDefault(RunIdPathKey) is { Length: > 0 } runIdPath ? runIdPath : "run_id",
                metadata.GetValueOrDefault(StatusPathKey) is { Length: > 0 } statusPath ? statusPath : "status",
                terminal,
                success,
                pending,
                TimeSpan.FromMilliseconds(interval)), null);
        }

        private static HashSet<string> States(Dictionary<string, string> metadata, string key, string fallback) =>
            new(List(metadata.GetValueOrDefault(key) ?? fallback), StringComparer.OrdinalIgnoreCase);

        private static IEnumerable<string> List(string text) =>
            text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Runbox.Server.Auth;
using Runbox.Server.Health;
using Runbox.Server.Http;
using Runbox.Server.Jobs;

namespace Runbox.Cli.Client;

/// <summary>A failed call, with the server's problem detail as the message.</summary>
internal sealed class RunboxClientException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>No answer from the server: it could not be reached, or the connection broke.</summary>
    public bool Unreachable { get; init; }

    /// <summary>
    /// The command's exit code for it, the same in every command: 2 when the server refused the request as given (a 4xx
    /// answer but 408 and 429: a bad value, no such job, a state that forbids it, no key), which trying again unchanged will not
    /// mend; 1 when no answer came, or the server was busy (429), out of time for the request (408) or failed (5xx).
    /// </summary>
    public int ExitCode =>
        !Unreachable && (int)Status is >= 400 and < 500 && Status is not (HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout) ? 2 : 1;
}

/// <summary>The REST API as the CLI uses it.</summary>
internal sealed partial class RunboxClient : IDisposable
{
    /// <summary>What <c>runbox --version</c> prints: 1.0.0+COMMIT.</summary>
    private static readonly string CliVersion =
        typeof(RunboxClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly HttpClient _http;

    private readonly string? _noKey;

    private readonly TextWriter _notices;

    /// <summary>
    /// Why a request got no answer, in one line: .NET's "The SSL connection could not be established, see inner
    /// exception." (https:// to a plain http:// server) points at an exception the user never sees, so its words come
    /// along instead.
    /// </summary>
    private static string Reason(HttpRequestException e)
    {
        const string SeeInner = ", see inner exception";
        if (!e.Message.Contains(SeeInner, StringComparison.Ordinal) || e.InnerException is not { } inner)
        {
            return e.Message.TrimEnd('.');
        }
        var text = e.Message.Replace(SeeInner, "", StringComparison.Ordinal).TrimEnd('.');
        // The usual cause: https:// given for a server that speaks plain HTTP, as `runbox serve` does.
        var tls = e.HttpRequestError == HttpRequestError.SecureConnectionError ? "; is it an http:// server?" : "";
        return $"{text} ({inner.Message.TrimEnd('.')}{tls})";
    }

    /// <summary>The server has answered a call: a later "cannot reach" is a server that went away, not one never found.</summary>
    private bool _answered;

    /// <param name="noKey">Without a key: where it was looked for, added to the server's answer when it wants one.</param>
    /// <param name="notices">Where to say that the server is busy and the call waits (stderr).</param>
    public RunboxClient(Uri server, string? key, string? noKey, TextWriter notices)
    {
        _http = new HttpClient { BaseAddress = WithTrailingSlash(server), Timeout = Timeout.InfiniteTimeSpan };
        _noKey = noKey;
        _notices = notices;
        if (key is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>
    /// The server's address as the base of every path: a server behind a reverse proxy at http://host/runbox keeps its
    /// /runbox/ prefix only when the base ends with a slash (else "runbox" is a file name, replaced when resolving).
    /// </summary>
    private static Uri WithTrailingSlash(Uri server) =>
        server.AbsolutePath.EndsWith('/') ? server : new UriBuilder(server) { Path = server.AbsolutePath + "/" }.Uri;

    /// <summary>
    /// An API path ("/api/v1/jobs") under the server's address, prefix and all: relative, since a path from the root
    /// would drop the prefix.
    /// </summary>
    private static Uri Under(string path) => new(path.TrimStart('/'), UriKind.Relative);

    /// <summary>Repeated when the server is busy: a 429 or 503 means it created no job.</summary>
    public Task<JobResponse> SubmitAsync(JobSubmission submission, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "/api/v1/jobs", () => Body(submission, RunboxJsonContext.Default.JobSubmission), RunboxJsonContext.Default.JobResponse, ct, repeatable: true);

    /// <summary>
    /// The job as the server wrote it, handed to <paramref name="read"/> as it arrives rather than read into a
    /// <see cref="JobResponse"/>: its output can be tens of MB.
    /// </summary>
    public Task GetJsonAsync(string id, Func<Stream, CancellationToken, Task> read, CancellationToken ct) =>
        ReadBodyAsync($"/api/v1/jobs/{Uri.EscapeDataString(id)}", read, ct);

    public Task<JobListResponse> ListAsync(string? status, int limit, string? cursor, CancellationToken ct)
    {
        var query = $"/api/v1/jobs?limit={limit}" + (status is null ? "" : $"&status={Uri.EscapeDataString(status)}") + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
        return SendAsync(HttpMethod.Get, query, null, RunboxJsonContext.Default.JobListResponse, ct);
    }

    /// <summary>
    /// A page of the most lines the server gives at once (5000): each request costs the server a read of the whole job,
    /// output included, and counts against the key's rate limit, so a job of 50 MB took 500 requests and nearly two minutes.
    /// </summary>
    public Task<LogPageResponse> LogsAsync(string id, long afterSeq, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"/api/v1/jobs/{Uri.EscapeDataString(id)}/logs?after_seq={afterSeq}&limit=5000", null, RunboxJsonContext.Default.LogPageResponse, ct);

    /// <summary>The job's last <paramref name="count"/> lines; <c>next_seq</c> is where following goes on.</summary>
    public Task<LogPageResponse> TailAsync(string id, int count, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"/api/v1/jobs/{Uri.EscapeDataString(id)}/logs?tail={count}", null, RunboxJsonContext.Default.LogPageResponse, ct);

    /// <summary>Repeated when the server is busy: cancelling twice is cancelling once.</summary>
    public Task<JobResponse> CancelAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/jobs/{Uri.EscapeDataString(id)}/cancel", null, RunboxJsonContext.Default.JobResponse, ct, repeatable: true);

    public Task DeleteAsync(string id, CancellationToken ct) => SendAsync(HttpMethod.Delete, $"/api/v1/jobs/{Uri.EscapeDataString(id)}", ct);

    public Task<KeyCreatedResponse> CreateKeyAsync(string name, bool admin, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "/api/v1/keys", () => Body(new KeyCreateRequest { Name = name, Admin = admin }, RunboxJsonContext.Default.KeyCreateRequest), RunboxJsonContext.Default.KeyCreatedResponse, ct);

    public Task<KeyListResponse> ListKeysAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "/api/v1/keys", null, RunboxJsonContext.Default.KeyListResponse, ct);

    public Task RevokeKeyAsync(string id, CancellationToken ct) => SendAsync(HttpMethod.Delete, $"/api/v1/keys/{Uri.EscapeDataString(id)}", ct);

    public Task<ArtifactListResponse> ArtifactsAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"/api/v1/jobs/{Uri.EscapeDataString(id)}/artifacts", null, RunboxJsonContext.Default.ArtifactListResponse, ct);

    /// <summary>Copies one artifact's bytes into <paramref name="target"/> as they arrive.</summary>
    public async Task DownloadArtifactAsync(string id, string name, Stream target, CancellationToken ct)
    {
        var path = $"/api/v1/jobs/{Uri.EscapeDataString(id)}/artifacts/{string.Join('/', name.Split('/').Select(Uri.EscapeDataString))}";
        using var exchange = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Under(path)), HttpCompletionOption.ResponseHeadersRead, repeatable: true, ct);
        var response = exchange.Response;
        await EnsureAsync(response, ct);
        try
        {
            await response.Content.CopyToAsync(target, ct);
        }
        catch (Exception e) when (e is HttpRequestException or HttpIOException)
        {
            throw new RunboxClientException(HttpStatusCode.ServiceUnavailable, $"lost the connection to {_http.BaseAddress}: {e.Message}") { Unreachable = true };
        }
    }

    /// <summary>
    /// The job's live events: log lines, then the final job, without its output, script and stdin (the lines gave the
    /// output), and with <paramref name="keepResultJson"/> the result event's JSON as the server wrote it too. When
    /// the stream drops, reconnects with Last-Event-ID, up to 5 times in a row; then, or when the server cannot be
    /// reached at all, a <see cref="RunboxClientException"/>.
    /// </summary>
    public async IAsyncEnumerable<(LogLineResponse? Line, JobResponse? Final, byte[]? FinalJson)> EventsAsync(
        string id, bool keepResultJson, [EnumeratorCancellation] CancellationToken ct, long afterSeq = 0)
    {
        object? ParseEvent(string eventType, ReadOnlySpan<byte> data) => eventType switch
        {
            "log" => JsonSerializer.Deserialize(data, RunboxJsonContext.Default.LogLineResponse),
            "result" => new ResultEvent(JsonSerializer.Deserialize(data, JobWithoutOutput)!, keepResultJson ? data.ToArray() : null),
            _ => null,
        };

        // afterSeq: the lines up to it were printed already (a tail), so the stream starts after it.
        long last = afterSeq;
        for (var drops = 0; ; drops++)
        {
            if (drops > 0)
            {
                await Task.Delay(500, ct);
            }
            var after = last;
            HttpRequestMessage Request()
            {
                var request = new HttpRequestMessage(HttpMethod.Get, Under($"/api/v1/jobs/{Uri.EscapeDataString(id)}/events"));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                if (after > 0)
                {
                    request.Headers.Add("Last-Event-ID", after.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                return request;
            }
            Exchange answer;
            try
            {
                answer = await SendAsync(Request, HttpCompletionOption.ResponseHeadersRead, repeatable: true, ct);
            }
            catch (RunboxClientException) when (drops is > 0 and < 5)
            {
                // The stream dropped and the server does not answer yet (restarting?): try again.
                continue;
            }
            using var exchange = answer;
            var response = exchange.Response;
            await EnsureAsync(response, ct);
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            await using var items = SseParser.Create(stream, ParseEvent).EnumerateAsync(ct).GetAsyncEnumerator(ct);
            string? dropped = null;
            while (true)
            {
                bool more;
                try
                {
                    more = await items.MoveNextAsync();
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    dropped = e.Message;
                    break;
                }
                if (!more)
                {
                    break;
                }
                var item = items.Current;
                if (item.Data is LogLineResponse line)
                {
                    last = line.Seq;
                    drops = 0;
                    yield return (line, null, null);
                }
                else if (item.Data is ResultEvent final)
                {
                    yield return (null, final.Job, final.Json);
                    yield break;
                }
            }
            if (drops >= 5)
            {
                throw new RunboxClientException(HttpStatusCode.ServiceUnavailable,
                    $"the live stream from {_http.BaseAddress} kept dropping{(dropped is null ? "" : $": {dropped}")}") { Unreachable = true };
            }
        }
    }

    /// <summary>
    /// An event's JSON is read from its bytes as they came. Made a string first, the result event (the job with its whole
    /// output, up to the output limit: tens of MB) went through a string twice its size and back into UTF-8 to be read,
    /// and following a job of 50 MB took over 500 MB. Its output is not read at all: the log lines gave it, and as a
    /// string it took twice its size again.
    /// </summary>
    private sealed record ResultEvent(JobResponse Job, byte[]? Json);

    /// <summary>
    /// A <see cref="JobResponse"/> read without its stdout, stderr, script and stdin, which can be tens of MB: they are
    /// left null. (Read as null rather than removed: the generated code sets a record's init properties together.)
    /// </summary>
    private static readonly JsonTypeInfo<JobResponse> JobWithoutOutput =
        (JsonTypeInfo<JobResponse>)new JsonSerializerOptions(RunboxJson.Options)
        {
            TypeInfoResolver = RunboxJsonContext.Default.WithAddedModifier(info =>
            {
                if (info.Type == typeof(JobResponse))
                {
                    foreach (var large in info.Properties.Where(p => p.Name is "stdout" or "stderr" or "script" or "stdin"))
                    {
                        large.CustomConverter = new UnreadText();
                    }
                }
            }),
        }.GetTypeInfo(typeof(JobResponse));

    /// <summary>A string token passed over: the reader has it whole already, and no string is made of it.</summary>
    private sealed class UnreadText : System.Text.Json.Serialization.JsonConverter<string?>
    {
        public override bool HandleNull => true;

        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => null;

        public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteNullValue();
    }

    public void Dispose() => _http.Dispose();

    /// <param name="content">Made anew for each try.</param>
    /// <param name="repeatable">Tried again when the server is busy; by default so for every method but POST.</param>
    private async Task<T> SendAsync<T>(HttpMethod method, string path, Func<HttpContent>? content, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type,
        CancellationToken ct, bool? repeatable = null)
    {
        HttpRequestMessage Request()
        {
            var body = content?.Invoke();
            // Only a large body waits for the server's 100 Continue (see Body): a small one costs no round trip more.
            return new HttpRequestMessage(method, Under(path)) { Content = body, Headers = { ExpectContinue = body?.Headers.ContentLength > LargeBody } };
        }
        using var exchange = await SendAsync(Request, HttpCompletionOption.ResponseContentRead, repeatable ?? method != HttpMethod.Post, ct);
        var response = exchange.Response;
        await EnsureAsync(response, ct);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct) ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // Another program answers at that address, or a proxy's error page: say so, not a deserializer's stack trace.
            throw new RunboxClientException(HttpStatusCode.BadGateway, $"{_http.BaseAddress} did not answer {method} {path} as a Runbox server does: {e.Message}");
        }
    }

    /// <summary>
    /// A GET whose JSON answer <paramref name="read"/> takes as a stream: a broken connection (also midway, see
    /// <see cref="AnswerBody"/>), or an answer that is no JSON, fails as in <see cref="SendAsync{T}"/>; a failed write
    /// of <paramref name="read"/>'s own is its to handle.
    /// </summary>
    private async Task ReadBodyAsync(string path, Func<Stream, CancellationToken, Task> read, CancellationToken ct)
    {
        using var exchange = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Under(path)), HttpCompletionOption.ResponseHeadersRead, repeatable: true, ct);
        var response = exchange.Response;
        await EnsureAsync(response, ct);
        RunboxClientException Lost(Exception e) =>
            new(HttpStatusCode.ServiceUnavailable, $"lost the connection to {_http.BaseAddress}: {e.Message}") { Unreachable = true };
        try
        {
            await using var body = new AnswerBody(await response.Content.ReadAsStreamAsync(ct), Lost);
            await read(body, ct);
        }
        catch (Exception e) when (e is HttpRequestException or HttpIOException)
        {
            throw Lost(e);
        }
        catch (JsonException e)
        {
            throw new RunboxClientException(HttpStatusCode.BadGateway, $"{_http.BaseAddress} did not answer GET {path} as a Runbox server does: {e.Message}");
        }
    }

    /// <summary>
    /// A JSON request body with its length said up front. Above <see cref="LargeBody"/> it goes with <c>Expect:
    /// 100-continue</c> (see <see cref="SendAsync{T}"/>), so the server refuses a body over its size cap (413) before a
    /// byte of it is sent; streamed in chunks, the server cut the connection mid-body and the CLI could only say that it
    /// could not reach it.
    /// </summary>
    private const long LargeBody = 1024 * 1024;

    private static ByteArrayContent Body<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    /// <summary>A call without an answer body (DELETE).</summary>
    private async Task SendAsync(HttpMethod method, string path, CancellationToken ct)
    {
        using var exchange = await SendAsync(() => new HttpRequestMessage(method, Under(path)), HttpCompletionOption.ResponseContentRead, repeatable: true, ct);
        await EnsureAsync(exchange.Response, ct);
    }

    /// <param name="request">Made anew for each try (a request message is sent once).</param>
    /// <param name="repeatable">
    /// When the server answers busy (<see cref="BusyAnswer"/>), waits as it asks, saying so on stderr, and tries again,
    /// <see cref="BusyAnswer.MaxTries"/> times in all; still busy, a <see cref="RunboxClientException"/> that says so.
    /// </param>
    private async Task<Exchange> SendAsync(Func<HttpRequestMessage> request, HttpCompletionOption completion, bool repeatable, CancellationToken ct)
    {
        for (var tries = 1; ; tries++)
        {
            var message = request();
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(message, completion, ct);
                _answered = true;
            }
            catch (HttpRequestException e)
            {
                message.Dispose();
                // Never answered: most likely no server there yet, or another address meant; say where the address comes from.
                var hint = _answered ? "" : "; is a Runbox server running there? (another address: --server or $RUNBOX_SERVER)";
                throw new RunboxClientException(HttpStatusCode.ServiceUnavailable, $"cannot reach {_http.BaseAddress}: {Reason(e)}{hint}") { Unreachable = true };
            }
            catch
            {
                message.Dispose();
                throw;
            }
            if (!repeatable || BusyAnswer.WaitFor(response, DateTimeOffset.UtcNow) is not { } wait)
            {
                return new Exchange(message, response);
            }
            using (message)
            using (response)
            {
                if (tries == BusyAnswer.MaxTries)
                {
                    await EnsureAsync(response, ct, stillBusyAfter: tries);
                }
                await _notices.WriteLineAsync($"runbox: the server is busy (HTTP {(int)response.StatusCode}); trying again in {BusyAnswer.Seconds(wait)}");
            }
            await Task.Delay(wait, ct);
        }
    }

    /// <summary>A request and its answer, disposed together once the answer is read (its body may still be arriving).</summary>
    private sealed class Exchange(HttpRequestMessage request, HttpResponseMessage response) : IDisposable
    {
        public HttpResponseMessage Response => response;

        public void Dispose()
        {
            response.Dispose();
            request.Dispose();
        }
    }

    /// <param name="stillBusyAfter">The server answered busy this many times in a row: the message says so first.</param>
    private async Task EnsureAsync(HttpResponseMessage response, CancellationToken ct, int? stillBusyAfter = null)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var text = await response.Content.ReadAsStringAsync(ct);
        var message = $"HTTP {(int)response.StatusCode}";
        var explained = false;
        try
        {
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } d)
            {
                message = d;
                explained = true;
            }
            else if (problem.RootElement.TryGetProperty("title", out var title))
            {
                message = title.GetString() ?? message;
            }
        }
        catch (JsonException)
        {
        }
        if (response.StatusCode == HttpStatusCode.NotFound && !explained && response.RequestMessage?.RequestUri is { } asked)
        {
            // Runbox says which job or runtime it has not; a 404 without a word is no route there: a wrong --server,
            // or a wrong path prefix for a server behind a proxy.
            message = $"nothing at {asked.GetLeftPart(UriPartial.Path)} (HTTP 404): is {_http.BaseAddress} a Runbox server's address? (--server or $RUNBOX_SERVER)";
        }
        if (response.StatusCode == HttpStatusCode.Unauthorized && _noKey is not null)
        {
            message = $"{message} ({_noKey})";
        }
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            message += OlderServerNote(response);
        }
        if (stillBusyAfter is { } tries)
        {
            message = $"the server is still busy after {tries} tries (HTTP {(int)response.StatusCode}): {message}";
        }
        throw new RunboxClientException(response.StatusCode, message);
    }

    /// <summary>
    /// A server older than this CLI refuses what it does not know yet (a field, or a value it did not allow then) as a
    /// bad request, in words that blame the command line: a 400 from a server of another build says both builds.
    /// </summary>
    private static string OlderServerNote(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues(ServerVersion.Header, out var values))
        {
            // Servers of this CLI's build and later all say theirs: one that does not is older.
            return $" (The server does not say its version: it is older than this runbox, {CliVersion}, and refuses what it does not know yet; update the server.)";
        }
        var server = values.FirstOrDefault();
        return server == CliVersion
            ? ""
            : $" (The server runs Runbox {server} and this runbox is {CliVersion}: if the server is the older one, it refuses what it does not know yet; update it.)";
    }
}

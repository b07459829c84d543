using System.Collections;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Server.Auth;
using Runbox.Server.Compat;
using Runbox.Server.Configuration;
using Runbox.Server.Health;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Rpc;
using Runbox.Server.Runtimes;
using Runbox.Server.Streaming;
using Runbox.Server.Ui;
using Runbox.Server.Webhooks;
using Runbox.Server.Worker;
using Runbox.Storage;
using Runbox.Storage.Postgres;

namespace Runbox.Server;

/// <summary>
/// The whole server in one call: <c>runbox serve</c> and the tests both build it here. Configuration comes from
/// appsettings.json, then <c>RUNBOX_*</c> variables, then the command line (<c>--urls</c>, <c>--data</c>,
/// <c>--workers</c>, or any <c>--Runbox:Key=value</c>), later sources winning.
/// </summary>
public static class RunboxApp
{
    private static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--data"] = "Runbox:DataDirectory",
        ["--workers"] = "Runbox:Workers",
        ["--store"] = "Runbox:Store",
        ["--name"] = "Runbox:NodeName",
        ["--socket"] = "Runbox:Socket",
    };

    /// <summary>
    /// The settings as given. A value that does not convert (<c>--Runbox:Workers=abc</c>) is an invalid configuration,
    /// reported as the validator's findings are, not an exception from the binder.
    /// </summary>
    private static RunboxOptions Bind(IConfiguration configuration)
    {
        var section = configuration.GetSection(RunboxOptions.Section);
        var fromVariables = RunboxVariables().Select(v => v.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unknown = UnknownSettings.Find(section, fromVariables);
        var unconvertible = UnconvertibleSettings.Find(section);
        if (unknown.Count == 0 && unconvertible.Count == 0)
        {
            try
            {
                return section.Get<RunboxOptions>() ?? new RunboxOptions();
            }
            catch (InvalidOperationException e)
            {
                throw new OptionsValidationException(RunboxOptions.Section, typeof(RunboxOptions), [e.Message]);
            }
        }
        // Every error at once: the settings that convert are bound without the ones that do not and checked as a start
        // checks them, so a fix of one error does not just reveal the next.
        var usable = new ConfigurationBuilder()
            .AddInMemoryCollection(section.AsEnumerable().Where(s => s.Value is not null && !unconvertible.ContainsKey(s.Key)))
            .Build()
            .GetSection(RunboxOptions.Section);
        IEnumerable<string> failures;
        try
        {
            failures = new RunboxOptionsValidator().Validate(null, usable.Get<RunboxOptions>() ?? new RunboxOptions()).Failures ?? [];
        }
        catch (InvalidOperationException e)
        {
            // A value the walk above does not reach (inside a list) and the binder cannot convert: said, not thrown.
            failures = [e.Message];
        }
        throw new OptionsValidationException(RunboxOptions.Section, typeof(RunboxOptions), [.. unknown, .. unconvertible.Values, .. failures]);
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json is read once (options are validated at start, never reloaded). Watching it for changes made
        // .NET watch the whole working directory, every subfolder with an inotify watch of its own: run from the data
        // folder (deploy/'s units) or above it (./runbox-data), that was every kept job's artifact folder and every
        // runtime's venv, one watch more per job until the host's inotify limit, shared by all of root's programs.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"] });
        builder.Configuration.AddInMemoryCollection(RunboxVariables());
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        // One line per request is noise for a job server; Runbox's own events say what happened.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The authentication handler's base class logs two lines for every request without a valid key: a scanner
        // would fill the log. Refused requests are counted by their 401s, not logged one by one.
        builder.Logging.AddFilter(typeof(Auth.ApiKeyAuthenticationHandler).FullName, LogLevel.Warning);
        // The host logs a failed start ("Hosting failed to start", a stack trace) and then throws the same exception to
        // whoever started it: `runbox serve` says it in one line, an embedding program gets the exception. A background
        // service that stops the host is still logged, with its exception, at Critical.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        var services = builder.Services;
        services.AddOptions<RunboxOptions>().BindConfiguration(RunboxOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RunboxOptions>, RunboxOptionsValidator>();
        var configured = Bind(builder.Configuration);

        // Nodes sharing PostgreSQL compare times each other wrote (leases, heartbeats): they all take the database's
        // clock (StoreInitializer and DatabaseClockSync read it), so a node whose own clock is off changes nothing.
        services.TryAddSingleton<TimeProvider>(configured.Store is { Length: > 0 } ? new DatabaseClock(TimeProvider.System) : TimeProvider.System);
        services.AddSingleton<DataFolder>();
        services.AddSingleton<IJobStore>(sp => StoreFactory.Create(
            sp.GetRequiredService<IOptions<RunboxOptions>>().Value, sp.GetRequiredService<DataFolder>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<WorkerRuntimes>();
        services.AddSingleton<IJobEngine>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RunboxOptions>>().Value;
            return new JobEngine(new EngineOptions
            {
                WorkRoot = options.WorkRoot ?? sp.GetRequiredService<DataFolder>().DefaultWorkRoot,
                Slots = options.Workers,
                // Jobs of a queue tend to start in waves (slots freed together claim together): a ready init per slot,
                // up to 8, lets a wave go straight to standbys instead of waiting for inits to be prepared.
                PoolSize = Math.Clamp(options.Workers, 2, 8),
                AllowNetwork = options.AllowNetwork,
            }, sp.GetRequiredService<ILoggerFactory>());
        });
        // Taken lazily: an API-only node (--no-worker) runs no job, so it never builds the engine, which would detect the
        // sandbox (warning about what the host lacks), make a work root and cgroups, and start zygotes it never uses.
        services.AddSingleton(sp => new Lazy<IJobEngine>(sp.GetRequiredService<IJobEngine>));
        services.AddSingleton<JobService>();
        services.AddSingleton<StreamLimiter>();
        services.AddSingleton<DefaultRuntimeCheck>();
        services.AddSingleton<WebhookSecret>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<ClaimedJobRunner>();
        services.AddSingleton<JobWorker>();
        services.AddSingleton<PackageManager>();
        services.AddSingleton<RuntimeManager>();
        services.AddSingleton<RpcMethods>();
        services.AddSingleton<UiAssets>();

        // Order matters: the store is ready before the worker claims, and webhooks outlive the worker's drain.
        services.AddHostedService<StoreInitializer>();
        if (!configured.WorkerOnly)
        {
            // Declaring runtimes is the API side's; a worker node only follows the declarations (RuntimeSync).
            services.AddHostedService(sp => sp.GetRequiredService<RuntimeManager>());
        }
        services.AddSingleton<RuntimeSync>();
        services.AddHostedService(sp => sp.GetRequiredService<RuntimeSync>());
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<JobWorker>());
        services.AddHostedService<WorkerHeartbeat>();
        services.AddHostedService<LeaseRescuer>();
        services.AddHostedService<DatabaseClockSync>();
        services.AddHostedService<JobRetention>();
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(configured.DrainSeconds + 15));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = configured.MaxRequestBodyBytes;
            // Kestrel has no cap of its own: a client could hold idle connections (each a descriptor and buffers) until
            // the process ran out of descriptors, and then nobody, the socket's admin included, could connect.
            // Below 1 Kestrel throws here, before the settings are checked: leave it to their check to name it.
            if (configured.MaxConnections >= 1)
            {
                kestrel.Limits.MaxConcurrentConnections = configured.MaxConnections;
            }
        });
        RpcSocket.Listen(builder, configured);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Kestrel's cap counts all clients of an address together: one client could hold it all and lock the others,
            // admins included, out of HTTP. Each client address is capped apart too; the socket, whose users are admins
            // by its file mode, is not.
            var perClient = new ClientConnectionLimit(configured.MaxConnectionsPerClient,
                kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClientConnectionLimit).FullName!));
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                if (!RpcSocket.TrackIfSocket(listen, configured))
                {
                    perClient.Apply(listen);
                }
            });
        });
        services.ConfigureHttpJsonOptions(o => RunboxJson.Apply(o.SerializerOptions));
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // The framework's own 415 says nothing of what to send.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && context.ProblemDetails.Detail is null)
            {
                context.ProblemDetails.Detail = "The body must be JSON: send it with Content-Type: application/json.";
            }
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<StoreFaultHandler>();
        // A query value that does not convert (?limit=abc) throws, so that the handler above can name it; otherwise
        // the framework answers a bare 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<RuntimeProblemHandler>();
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer(OpenApiSecurity.AddSchemeAsync);
            o.AddDocumentTransformer(OpenApiProblems.AddSchemaAsync);
            o.AddOperationTransformer(OpenApiSecurity.ApplyAsync);
            o.AddOperationTransformer(OpenApiProblems.ApplyAsync);
            o.AddOperationTransformer(OpenApiSchemas.ApplyToParametersAsync);
            o.AddSchemaTransformer(OpenApiSchemas.ApplyAsync);
            o.AddSchemaTransformer(OpenApiNumbers.ApplyAsync);
        });

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(KeysApi.AdminPolicy, p => p.RequireRole(Caller.AdminRole));
        services.AddRateLimiter(ConfigureRateLimiter);

        configure?.Invoke(builder);

        var app = builder.Build();
        try
        {
            // The data folder before anything else: made and locked here, it fails (unwritable, another process's) with its
            // own message before the host starts. Made as a dependency of a hosted service, it failed while the host was
            // making its list of them, and the host, left without the list, then threw ArgumentNullException from StopAsync.
            _ = app.Services.GetRequiredService<DataFolder>();
        }
        catch
        {
            ((IDisposable)app).Dispose();
            throw;
        }
        app.UseServerVersionHeader();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRepeatedQueryValuesRefused();

        app.MapHealthApi();
        if (configured.WorkerOnly)
        {
            // `runbox worker`: health probes only, no API to secure or expose.
            return app;
        }
        app.MapOpenApi().AllowAnonymous();
        app.MapJobsApi();
        app.MapJobStreamsApi();
        app.MapKeysApi();
        app.MapCompatApi();
        app.MapWorkersApi();
        app.MapRuntimesApi();
        app.MapRpcApi();
        app.UseRpcSocket();
        app.MapCallerApi();
        app.MapUi();
        return app;
    }

    /// <summary><c>RUNBOX_WORKERS=4</c> → Runbox:Workers; <c>RUNBOX_MAXIMUMS__TIMEOUTSECONDS</c> → Runbox:Maximums:TimeoutSeconds.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> RunboxVariables()
    {
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (!name.StartsWith("RUNBOX_", StringComparison.Ordinal) || name.Length == "RUNBOX_".Length)
            {
                continue;
            }
            var key = name["RUNBOX_".Length..].Replace("__", ":", StringComparison.Ordinal);
            if (key.Equals("DATA", StringComparison.OrdinalIgnoreCase))
            {
                key = "DataDirectory";
            }
            yield return new($"{RunboxOptions.Section}:{key}", (string?)entry.Value);
        }
    }

    /// <summary>A token bucket per API key (per address before authentication), answering 429 with problem details.</summary>
    private static void ConfigureRateLimiter(RateLimiterOptions limiter)
    {
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            var options = http.RequestServices.GetRequiredService<IOptions<RunboxOptions>>().Value.RateLimit;
            var partition = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "address:" + http.Connection.RemoteIpAddress;
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.Burst,
                TokensPerPeriod = options.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
        limiter.OnRejected = (context, cancellationToken) => new ValueTask(RejectRateLimitedAsync(context.HttpContext));
    }

    /// <summary>The answer to a request past its key's rate limit: 429 with <c>Retry-After</c>, nothing acted on.</summary>
    public static Task RejectRateLimitedAsync(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "1";
        return TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many requests",
                detail: "This key sent more requests than its rate limit allows; retry after a second.")
            .ExecuteAsync(http);
    }
}

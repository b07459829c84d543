using System.CommandLine;
using System.Text.Json;
using Runbox.Cli.Client;
using Runbox.Server.Http;
using Runbox.Server.Runtimes;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox runtimes list|show|create|install|test|delete</c> (admin key needed); create and install follow progress.</summary>
internal static class RuntimesCommand
{
    public static Command Create()
    {
        var command = new Command("runtimes", "Manage runtimes: Python environments with their own version, packages and preloads (admin key).");

        var listClient = new ClientOptions();
        var listJson = JsonOption();
        var list = new Command("list", "List runtimes and their state.") { listJson };
        listClient.AddTo(list);
        list.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = listClient.Connect(parse);
            var runtimes = await api.ListRuntimesAsync(ct);
            if (parse.GetValue(listJson))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(runtimes, RunboxJsonContext.Default.RuntimeListResponse));
                return;
            }
            Table.Write(["NAME", "STATE", "PYTHON", "PACKAGES", "PRELOAD", "ERROR"], runtimes.Runtimes.Select(r => new[]
            {
                r.Name, r.State, r.PythonVersion, r.Packages.Count.ToString(), string.Join(",", r.Preload), ErrorCell(r),
            }));
        }));
        command.Subcommands.Add(list);

        var showClient = new ClientOptions();
        var showName = PathArgument.Create("name", "runtime name", "The runtime.");
        var showJson = JsonOption();
        var installOutput = new Option<bool>("--install-output") { Description = "Print what the installer printed in the last package installation." };
        var show = new Command("show", "Show a runtime: its packages, preloads, errors and last package installation.") { showName, showJson, installOutput };
        showClient.AddTo(show);
        show.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = showClient.Connect(parse);
            var runtime = await api.GetRuntimeAsync(parse.GetValue(showName)!, ct);
            if (parse.GetValue(showJson))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(runtime, RunboxJsonContext.Default.RuntimeResponse));
            }
            else if (parse.GetValue(installOutput))
            {
                if (runtime.LastInstall is null)
                {
                    await Console.Error.WriteLineAsync($"runbox: runtime '{runtime.Name}' has had no package installation.");
                    return 1;
                }
                Console.Out.Write(runtime.LastInstall.Output);
            }
            else
            {
                Show(runtime);
            }
            return 0;
        }));
        command.Subcommands.Add(show);

        var createClient = new ClientOptions();
        var name = new Argument<string>("name") { Description = "The runtime's name (a-z, 0-9, . _ -)." };
        var python = new Option<string?>("--python") { Description = "Python version: 3.12 (newest 3.12.x found) or 3.12.3. Default: the newest found." };
        var packages = new Option<string[]>("--package", "-p") { Description = "A package to install (repeat for more).", AllowMultipleArgumentsPerToken = true };
        var preload = new Option<string[]>("--preload") { Description = "A module the runtime's zygote imports once (repeat for more).", AllowMultipleArgumentsPerToken = true };
        var systemSite = new Option<bool>("--system-site-packages") { Description = "Let the environment see the base Python's own packages." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return at once instead of following the installation." };
        var createJson = JsonOption();
        var create = new Command("create", "Create a runtime and follow its installation.") { name, python, packages, preload, systemSite, noWait, createJson };
        createClient.AddTo(create);
        create.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = createClient.Connect(parse);
            var runtime = await api.CreateRuntimeAsync(new RuntimeCreateRequest
            {
                Name = parse.GetValue(name),
                PythonVersion = parse.GetValue(python),
                Packages = [.. parse.GetValue(packages) ?? []],
                Preload = [.. parse.GetValue(preload) ?? []],
                SystemSitePackages = parse.GetValue(systemSite),
            }, ct);
            return await FollowAsync(api, runtime, parse.GetValue(noWait), parse.GetValue(createJson), ct);
        }));
        command.Subcommands.Add(create);

        var installClient = new ClientOptions();
        var installName = PathArgument.Create("name", "runtime name", "The runtime.");
        var installPackages = new Argument<string[]>("packages") { Description = "Packages to install.", Arity = ArgumentArity.ZeroOrMore };
        var installPreload = new Option<string[]>("--preload") { Description = "Also preload these modules.", AllowMultipleArgumentsPerToken = true };
        var installRemovePreload = new Option<string[]>("--remove-preload")
        {
            Description = "Stop preloading these modules (one that broke the runtime's zygote, say).", AllowMultipleArgumentsPerToken = true,
        };
        var installNoWait = new Option<bool>("--no-wait") { Description = "Return at once instead of following the installation." };
        var installJson = JsonOption();
        var install = new Command("install", "Install packages into a runtime; its zygote restarts with them. If the install fails, the runtime keeps what it had.")
        {
            installName, installPackages, installPreload, installRemovePreload, installNoWait, installJson,
        };
        installClient.AddTo(install);
        install.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = installClient.Connect(parse);
            var runtime = await api.InstallRuntimePackagesAsync(parse.GetValue(installName)!, new RuntimeInstallRequest
            {
                Packages = [.. parse.GetValue(installPackages) ?? []],
                Preload = [.. parse.GetValue(installPreload) ?? []],
                RemovePreload = parse.GetValue(installRemovePreload) is { Length: > 0 } remove ? [.. remove] : null,
            }, ct);
            return await FollowAsync(api, runtime, parse.GetValue(installNoWait), parse.GetValue(installJson), ct);
        }));
        command.Subcommands.Add(install);

        var testClient = new ClientOptions();
        var testName = PathArgument.Create("name", "runtime name", "The runtime.");
        var testJson = JsonOption();
        var test = new Command("test", "Run the runtime's smoke test job now.") { testName, testJson };
        testClient.AddTo(test);
        test.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = testClient.Connect(parse);
            return Report(await api.TestRuntimeAsync(parse.GetValue(testName)!, ct), installed: false, parse.GetValue(testJson));
        }));
        command.Subcommands.Add(test);

        var deleteClient = new ClientOptions();
        var deleteName = PathArgument.Create("name", "runtime name", "The runtime.");
        var force = new Option<bool>("--force") { Description = "Cancel the jobs queued or running on it." };
        var delete = new Command("delete", "Delete a runtime and its environment.") { deleteName, force };
        deleteClient.AddTo(delete);
        delete.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = deleteClient.Connect(parse);
            var runtime = parse.GetValue(deleteName)!;
            try
            {
                await api.DeleteRuntimeAsync(runtime, parse.GetValue(force), ct);
            }
            catch (RunboxClientException e) when (e.Status == System.Net.HttpStatusCode.Conflict)
            {
                // The server speaks of its query parameter; here it is an option.
                throw new RunboxClientException(e.Status, e.Message.Replace("delete with force=true", $"use 'runbox runtimes delete {runtime} --force'", StringComparison.Ordinal));
            }
            Console.Out.WriteLine($"{runtime} deleted");
        }));
        command.Subcommands.Add(delete);
        return command;
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print the runtime as JSON (the API's answer) instead of text." };

    /// <summary>
    /// Polls the runtime, printing each new progress line (on stderr), until it is operational or failed: 1 when it
    /// failed, or when the packages this command asked for did not install (the runtime then keeps what it had).
    /// An operational runtime with a progress line is installing into a copy of its environment: followed until done.
    /// </summary>
    private static async Task<int> FollowAsync(RunboxClient api, RuntimeResponse runtime, bool noWait, bool json, CancellationToken ct)
    {
        var before = runtime.LastInstall;
        string? last = null;
        while (!noWait && (runtime.State is "installing" or "ready" || runtime is { State: "operational", Progress: not null }))
        {
            var line = $"{runtime.State}: {runtime.Progress ?? "..."}";
            if (line != last)
            {
                Console.Error.WriteLine(line);
                last = line;
            }
            try
            {
                await Task.Delay(500, ct);
                runtime = await api.GetRuntimeAsync(runtime.Name, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Following is only watching, as for `jobs logs -f`: the install runs on the server all the same.
                await Console.Error.WriteLineAsync($"runbox: stopped following runtime {runtime.Name}; its install goes on: see 'runbox runtimes show {runtime.Name}'");
                return 130;
            }
        }
        return Report(runtime, installed: runtime.LastInstall is { } after && after.EndedAt != before?.EndedAt, json);
    }

    /// <summary>
    /// The ERROR column: why the runtime does not work, or (while it works) that its last install failed. One line:
    /// an error's first line and its last (what went wrong), not every line between, which would break the table;
    /// <c>runbox runtimes show NAME</c> prints it whole.
    /// </summary>
    private static string ErrorCell(RuntimeResponse runtime) => runtime switch
    {
        { Error: { } error } => OneLine(error),
        { LastInstall: { Succeeded: false } install } => $"installing {string.Join(" ", install.Packages)} failed (the runtime kept what it had): {OneLine(install.Error)}",
        _ => "",
    };

    private static string OneLine(string? error)
    {
        var lines = (error ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length switch
        {
            0 => "",
            1 => lines[0],
            _ => $"{lines[0]} ... {lines[^1]}",
        };
    }

    /// <summary>
    /// Prints the runtime's state (or, with <paramref name="json"/>, the runtime as JSON): 0 as it stands, 1 when it
    /// failed or (<paramref name="installed"/>: this command installed) its packages did not install.
    /// </summary>
    private static int Report(RuntimeResponse runtime, bool installed, bool json)
    {
        var installFailed = installed && runtime.LastInstall is { Succeeded: false };
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(runtime, RunboxJsonContext.Default.RuntimeResponse));
            return runtime.Error is not null || installFailed ? 1 : 0;
        }
        Console.Out.WriteLine($"{runtime.Name}: {runtime.State} (Python {runtime.PythonVersion}, {Count(runtime.Packages.Count, "package")})");
        foreach (var (module, error) in runtime.PreloadErrors)
        {
            Console.Out.WriteLine($"  preload {module} failed: {error}");
        }
        if (runtime.Error is { } failure)
        {
            // An installer's error runs over several lines: each one under "error:", indented as it is.
            Console.Out.WriteLine($"  error: {Indented(failure)}");
            if (runtime.SmokeTestJobId is { } job)
            {
                Console.Out.WriteLine($"  smoke test job: {job} (runbox jobs logs {job})");
            }
        }
        else if (installFailed)
        {
            var install = runtime.LastInstall!;
            Console.Out.WriteLine($"  installing {string.Join(" ", install.Packages)} failed; the runtime kept what it had:");
            Console.Out.WriteLine($"    {Indented(install.Error ?? "")}");
        }
        if (installFailed)
        {
            Console.Out.WriteLine($"  installer output: runbox runtimes show {runtime.Name} --install-output");
        }
        return runtime.Error is not null || installFailed ? 1 : 0;
    }

    /// <summary>Everything about one runtime, for a person: what <c>list</c> sums up in one row.</summary>
    private static void Show(RuntimeResponse runtime)
    {
        var o = Console.Out;
        o.WriteLine($"{runtime.Name}: {runtime.State}{(runtime.Progress is { } progress ? $" ({progress})" : "")}");
        o.WriteLine($"  python: {runtime.PythonVersion} ({runtime.InterpreterPath})");
        if (runtime.VenvPath is { } venv)
        {
            o.WriteLine($"  venv: {venv}{(runtime.SystemSitePackages ? " (sees the system's site-packages)" : "")}");
        }
        o.WriteLine($"  requirements: {(runtime.Requirements.Count == 0 ? "-" : string.Join(" ", runtime.Requirements))}");
        o.WriteLine($"  packages: {(runtime.Packages.Count == 0 ? "-" : string.Join(", ", runtime.Packages.Select(p => $"{p.Name} {p.Version}")))}");
        o.WriteLine($"  preload: {(runtime.Preload.Count == 0 ? "-" : string.Join(" ", runtime.Preload))}");
        foreach (var (module, error) in runtime.PreloadErrors)
        {
            o.WriteLine($"  preload {module} failed: {error}");
        }
        if (runtime.SmokeTestJobId is { } job)
        {
            o.WriteLine($"  smoke test job: {job} (runbox jobs logs {job})");
        }
        if (runtime.Error is { } failure)
        {
            o.WriteLine($"  error: {Indented(failure)}");
        }
        if (runtime.LastInstall is { } install)
        {
            var when = install.EndedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss");
            o.WriteLine($"  last install: {string.Join(" ", install.Packages)}, {(install.Succeeded ? "succeeded" : "failed")} at {when}" +
                $" (installer output: runbox runtimes show {runtime.Name} --install-output)");
            if (!install.Succeeded && runtime.Error is null)
            {
                o.WriteLine($"    {Indented(install.Error ?? "")}");
                o.WriteLine("    the runtime kept what it had before this install");
            }
        }
    }

    private static string Indented(string text) => text.TrimEnd().ReplaceLineEndings("\n    ");

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";
}

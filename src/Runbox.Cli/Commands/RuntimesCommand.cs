using System.CommandLine;
using Runbox.Cli.Client;
using Runbox.Server.Runtimes;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox runtimes list|create|install|test|delete</c> (admin key needed); create and install follow progress.</summary>
internal static class RuntimesCommand
{
    public static Command Create()
    {
        var command = new Command("runtimes", "Manage runtimes: Python environments with their own version, packages and preloads (admin key).");

        var listClient = new ClientOptions();
        var list = new Command("list", "List runtimes and their state.");
        listClient.AddTo(list);
        list.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = listClient.Connect(parse);
            var runtimes = await api.ListRuntimesAsync(ct);
            Table.Write(["NAME", "STATE", "PYTHON", "PACKAGES", "PRELOAD", "ERROR"], runtimes.Runtimes.Select(r => new[]
            {
                r.Name, r.State, r.PythonVersion, r.Packages.Count.ToString(), string.Join(",", r.Preload), OneLine(r.Error),
            }));
        }));
        command.Subcommands.Add(list);

        var createClient = new ClientOptions();
        var name = new Argument<string>("name") { Description = "The runtime's name (a-z, 0-9, . _ -)." };
        var python = new Option<string?>("--python") { Description = "Python version: 3.12 (newest 3.12.x found) or 3.12.3. Default: the newest found." };
        var packages = new Option<string[]>("--package", "-p") { Description = "A package to install (repeat for more).", AllowMultipleArgumentsPerToken = true };
        var preload = new Option<string[]>("--preload") { Description = "A module the runtime's zygote imports once (repeat for more).", AllowMultipleArgumentsPerToken = true };
        var systemSite = new Option<bool>("--system-site-packages") { Description = "Let the environment see the base Python's own packages." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return at once instead of following the installation." };
        var create = new Command("create", "Create a runtime and follow its installation.") { name, python, packages, preload, systemSite, noWait };
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
            return await FollowAsync(api, runtime, parse.GetValue(noWait), ct);
        }));
        command.Subcommands.Add(create);

        var installClient = new ClientOptions();
        var installName = PathArgument.Create("name", "runtime name", "The runtime.");
        var installPackages = new Argument<string[]>("packages") { Description = "Packages to install.", Arity = ArgumentArity.ZeroOrMore };
        var installPreload = new Option<string[]>("--preload") { Description = "Also preload these modules.", AllowMultipleArgumentsPerToken = true };
        var installNoWait = new Option<bool>("--no-wait") { Description = "Return at once instead of following the installation." };
        var install = new Command("install", "Install packages into a runtime; its zygote restarts with them.") { installName, installPackages, installPreload, installNoWait };
        installClient.AddTo(install);
        install.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = installClient.Connect(parse);
            var runtime = await api.InstallRuntimePackagesAsync(parse.GetValue(installName)!, new RuntimeInstallRequest
            {
                Packages = [.. parse.GetValue(installPackages) ?? []],
                Preload = [.. parse.GetValue(installPreload) ?? []],
            }, ct);
            return await FollowAsync(api, runtime, parse.GetValue(installNoWait), ct);
        }));
        command.Subcommands.Add(install);

        var testClient = new ClientOptions();
        var testName = PathArgument.Create("name", "runtime name", "The runtime.");
        var test = new Command("test", "Run the runtime's smoke test job now.") { testName };
        testClient.AddTo(test);
        test.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = testClient.Connect(parse);
            return Report(await api.TestRuntimeAsync(parse.GetValue(testName)!, ct));
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

    /// <summary>Polls the runtime, printing each new progress line, until it is operational or failed: 1 when failed.</summary>
    private static async Task<int> FollowAsync(RunboxClient api, RuntimeResponse runtime, bool noWait, CancellationToken ct)
    {
        string? last = null;
        while (!noWait && runtime.State is "installing" or "ready")
        {
            var line = $"{runtime.State}: {runtime.Progress ?? "..."}";
            if (line != last)
            {
                Console.Error.WriteLine(line);
                last = line;
            }
            await Task.Delay(500, ct);
            runtime = await api.GetRuntimeAsync(runtime.Name, ct);
        }
        return Report(runtime);
    }

    /// <summary>
    /// An error for a table cell: a traceback's first line and its last (what went wrong), not every line between, which
    /// would break the table; `runbox runtimes test NAME` prints it whole.
    /// </summary>
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

    /// <summary>Prints the runtime's state: 0 as it stands, 1 when it failed (the command then failed too).</summary>
    private static int Report(RuntimeResponse runtime)
    {
        Console.Out.WriteLine($"{runtime.Name}: {runtime.State} (Python {runtime.PythonVersion}, {runtime.Packages.Count} package{(runtime.Packages.Count == 1 ? "" : "s")})");
        foreach (var (module, error) in runtime.PreloadErrors)
        {
            Console.Out.WriteLine($"  preload {module} failed: {error}");
        }
        if (runtime.Error is { } failure)
        {
            // An installer's error runs over several lines: each one under "error:", indented as it is.
            Console.Out.WriteLine($"  error: {failure.TrimEnd().ReplaceLineEndings("\n    ")}");
            if (runtime.SmokeTestJobId is { } job)
            {
                Console.Out.WriteLine($"  smoke test job: {job} (runbox jobs logs {job})");
            }
            return 1;
        }
        return 0;
    }
}

using System.Net;
using System.Net.Http.Json;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Runtimes;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage.Runtimes;
using Runbox.Storage.Sqlite;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Runtimes;

/// <summary>Runtimes end to end: real interpreters, real venvs, real pip installing hand-made wheels from a local folder.</summary>
public sealed class RuntimesApiTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Create_BuildsOperationalRuntimes_FromTwoPythonVersions()
    {
        var versions = (await PythonInterpreters.FindAllAsync()).GroupBy(i => (i.Version.Major, i.Version.Minor)).Select(g => g.First()).Take(2).ToList();
        if (versions.Count < 2)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI needs two Python versions (pyenv) for this test");
            Skip.If(true, $"needs two installed Python 3 versions; found {versions.Count}");
        }
        await using var server = await RuntimeServer.StartAsync(output);
        var asked = versions.Select(v => $"{v.Version.Major}.{v.Version.Minor}").ToList();

        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "first", PythonVersion = asked[0] });
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "second", PythonVersion = asked[1] });
        var first = await server.Admin.WaitSettledAsync("first");
        var second = await server.Admin.WaitSettledAsync("second");

        Assert.Equal(("operational", "operational"), (first.State, second.State));
        Assert.Equal(versions[0].VersionText, first.PythonVersion);
        Assert.Equal(versions[1].VersionText, second.PythonVersion);
        foreach (var runtime in new[] { first, second })
        {
            var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = runtime.Name, Script = "import sys; print(sys.version.split()[0], sys.prefix)" }, wait: true);
            Assert.Equal($"{runtime.PythonVersion} {runtime.VenvPath}\n", job.Stdout);
            var smoke = await server.Admin.GetJobAsync(runtime.SmokeTestJobId!);
            Assert.StartsWith("hello world\n" + runtime.PythonVersion, smoke.Stdout);
        }
    }

    [Fact]
    public async Task Create_InstallsFromWheelFolderAndPreloads_WhenOnePreloadFails()
    {
        await using var server = await RuntimeServer.StartAsync(output);

        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "pkgs", Packages = ["tinypkg"], Preload = ["tinypkg", "no_such_module"] });
        var refused = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "pkgs", Script = "print(1)" });
        var runtime = await server.Admin.WaitSettledAsync("pkgs");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("still installing", (await refused.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal("operational", runtime.State);
        Assert.Contains(new PackageResponse("tinypkg", "0.1"), runtime.Packages);
        Assert.StartsWith("ModuleNotFoundError", runtime.PreloadErrors["no_such_module"]);
        Assert.False(runtime.PreloadErrors.ContainsKey("tinypkg"));
        // The zygote started without the failed module, with tinypkg imported before the job was forked.
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "pkgs", Script = "import sys; print('tinypkg' in sys.modules, 'no_such_module' in sys.modules)" }, wait: true);
        Assert.Equal("True False\n", job.Stdout);
    }

    [Fact]
    public async Task InstallPackages_RestartsZygoteWithNewPackage_WhenRuntimeOperational()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "grow", Packages = ["tinypkg==0.1"] });
        Assert.Equal("operational", (await server.Admin.WaitSettledAsync("grow")).State);

        var response = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/grow/packages", new RuntimeInstallRequest { Packages = ["extrapkg"], Preload = ["extrapkg"] }, RunboxJson.Options);
        var installing = await response.ReadAsync<RuntimeResponse>();
        var runtime = await server.Admin.WaitSettledAsync("grow");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(("operational", "installing extrapkg"), (installing.State, installing.Progress));
        Assert.Equal("operational", runtime.State);
        Assert.Equal(["tinypkg==0.1", "extrapkg"], runtime.Requirements);
        Assert.Contains(new PackageResponse("extrapkg", "1.0"), runtime.Packages);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "grow", Script = "import sys; print('extrapkg' in sys.modules)" }, wait: true);
        Assert.Equal("True\n", job.Stdout);
    }

    [Fact]
    public async Task InstallPackages_RemovesAPreloadThatBrokeTheRuntime_WhichThenWorksAgain()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "threads", Packages = ["tinypkg", "threadpkg"], Preload = ["tinypkg"] });
        Assert.Equal("operational", (await server.Admin.WaitSettledAsync("threads")).State);
        await server.Admin.PostAsJsonAsync("/api/v1/runtimes/threads/packages", new RuntimeInstallRequest { Preload = ["threadpkg"] }, RunboxJson.Options);
        var broken = await server.Admin.WaitSettledAsync("threads");

        var unknown = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/threads/packages", new RuntimeInstallRequest { RemovePreload = ["nosuch"] }, RunboxJson.Options);
        var both = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/threads/packages",
            new RuntimeInstallRequest { Preload = ["threadpkg"], RemovePreload = ["threadpkg"] }, RunboxJson.Options);
        var removed = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/threads/packages", new RuntimeInstallRequest { RemovePreload = ["threadpkg"] }, RunboxJson.Options);
        var repaired = await server.Admin.WaitSettledAsync("threads");

        // The preload broke a runtime that worked: its zygote holds a thread, so no job forks from it.
        Assert.Equal("failed", broken.State);
        Assert.Contains("a preloaded module started threads", broken.Error);
        Assert.Equal(["tinypkg", "threadpkg"], broken.Preload);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("'nosuch' is not among the preloads of runtime 'threads' (tinypkg, threadpkg)", (await unknown.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Contains("'threadpkg' is both added (preload) and removed (remove_preload)", (await both.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, removed.StatusCode);
        Assert.Equal(("operational", null), (repaired.State, repaired.Error));
        Assert.Equal(["tinypkg"], repaired.Preload);
        Assert.Equal(["tinypkg", "threadpkg"], repaired.Requirements);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "threads", Script = "import sys; print('tinypkg' in sys.modules, 'threadpkg' in sys.modules)" }, wait: true);
        Assert.Equal("True False\n", job.Stdout);
    }

    [Fact]
    public async Task InstallPackages_KeepsTheRuntimeWorking_WithTheFailureShown_WhenThePackageIsNotFound()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "keep", Packages = ["tinypkg"], Preload = ["tinypkg"] });
        var before = await server.Admin.WaitSettledAsync("keep");
        Assert.Equal("operational", before.State);

        var response = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/keep/packages", new RuntimeInstallRequest { Packages = ["nosuchpackage"], Preload = ["csv"] }, RunboxJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var after = await server.Admin.WaitSettledAsync("keep");
        var job = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "keep", Script = "import tinypkg; print(tinypkg.VALUE)" });

        // It works on as it was: same state, requirements, preloads and smoke test, with no error of its own.
        Assert.Equal(("operational", null), (after.State, after.Error));
        Assert.Equal(before.Requirements, after.Requirements);
        Assert.Equal(before.Preload, after.Preload);
        Assert.Equal(before.SmokeTestJobId, after.SmokeTestJobId);
        Assert.Equal(before.Packages, after.Packages);
        var install = after.LastInstall!;
        Assert.False(install.Succeeded);
        Assert.Equal(["nosuchpackage"], install.Packages);
        Assert.EndsWith("ERROR: No matching distribution found for nosuchpackage", install.Error);
        Assert.Contains("Looking in links", install.Output);
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);
        var ran = await server.Admin.WaitEndedAsync((await job.ReadAsync<JobResponse>()).Id);
        Assert.Equal(("succeeded", "1\n"), (ran.Status, ran.Stdout));
    }

    [Fact]
    public async Task InstallPackages_RunsJobsMeanwhile_ThenSwitchesToTheNewEnvironment()
    {
        using var wheels = new TempFolder();
        RuntimeServer.WriteWheels(wheels.Path);
        await using var index = await GatedWheelServer.StartAsync(wheels.Path, "extrapkg-");
        await using var server = await RunningServer.StartAsync(output, RuntimeServer.Settings(index.Url));
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "hot", Packages = ["tinypkg"], Preload = ["tinypkg"] });
        var before = await server.Admin.WaitSettledAsync("hot");
        Assert.Equal("operational", before.State);

        var response = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/hot/packages", new RuntimeInstallRequest { Packages = ["extrapkg"], Preload = ["extrapkg"] }, RunboxJson.Options);
        // pip is downloading extrapkg now, and waits for it until released: the job below runs while the install does.
        await index.Requested.WaitAsync(TimeSpan.FromSeconds(120));
        var submitted = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "hot", Script = "import sys, tinypkg; print(tinypkg.VALUE, sys.prefix)" });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var meanwhile = await server.Admin.WaitEndedAsync((await submitted.ReadAsync<JobResponse>()).Id);
        var during = await server.Admin.GetRuntimeAsync("hot");
        index.Release();
        var after = await server.Admin.WaitSettledAsync("hot");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(("succeeded", $"1 {before.VenvPath}\n"), (meanwhile.Status, meanwhile.Stdout));
        Assert.Equal("operational", during.State);
        Assert.NotNull(during.Progress);
        Assert.Equal(("operational", null), (after.State, after.Error));
        Assert.StartsWith(before.VenvPath + "+", after.VenvPath);
        Assert.True(after.LastInstall!.Succeeded);
        Assert.Contains(new PackageResponse("extrapkg", "1.0"), after.Packages);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "hot", Script = "import sys; print('extrapkg' in sys.modules, sys.prefix)" }, wait: true);
        Assert.Equal($"True {after.VenvPath}\n", job.Stdout);
        // pip in the copy runs from the copy: its script's shebang was pointed there.
        Assert.StartsWith($"#!{after.VenvPath}/bin/python", File.ReadLines(Path.Combine(after.VenvPath!, "bin", "pip")).First());
        // The old environment goes once no job runs from it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Directory.Exists(before.VenvPath) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.False(Directory.Exists(before.VenvPath), $"{before.VenvPath} is still there");
    }

    [Fact]
    public async Task InstallPackages_LeavesTheEnvironmentUntouched_AndRemovesTheCopy_WhenTheInstallFailedHalfway()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "half", Packages = ["tinypkg"] });
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "broken", Packages = ["tinypkg"] });
        var half = await server.Admin.WaitSettledAsync("half");
        var broken = await server.Admin.WaitSettledAsync("broken");
        Assert.Equal(("operational", "operational"), (half.State, broken.State));

        // Each installs a dependency first (extrapkg; brokenprint, which breaks print), then fails on the package asked.
        await server.Admin.PostAsJsonAsync("/api/v1/runtimes/half/packages", new RuntimeInstallRequest { Packages = ["halfway"] }, RunboxJson.Options);
        await server.Admin.PostAsJsonAsync("/api/v1/runtimes/broken/packages", new RuntimeInstallRequest { Packages = ["breakshalfway"] }, RunboxJson.Options);
        var halfAfter = await server.Admin.WaitSettledAsync("half");
        var brokenAfter = await server.Admin.WaitSettledAsync("broken");
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "broken", Script = "import importlib.util; print(importlib.util.find_spec('brokenprint'))" }, wait: true);

        // The dependencies went into copies, which are gone: the environments in use are as they were, and so are the runtimes.
        foreach (var (before, after) in new[] { (half, halfAfter), (broken, brokenAfter) })
        {
            Assert.Equal(("operational", null), (after.State, after.Error));
            Assert.Equal((before.VenvPath, before.SmokeTestJobId), (after.VenvPath, after.SmokeTestJobId));
            Assert.Equal(before.Packages, after.Packages);
            Assert.False(after.LastInstall!.Succeeded);
            Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(before.VenvPath)!, before.Name + "+*"));
        }
        Assert.Contains("halfway", halfAfter.LastInstall!.Error);
        Assert.Equal(("succeeded", "None\n"), (job.Status, job.Stdout));
    }

    [Fact]
    public async Task Create_SaysThePipErrors_NotItsRetryWarnings_WhenTheIndexDoesNotAnswer()
    {
        // Port 1 on loopback refuses at once: pip retries (printing a warning each time), then gives up.
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Packages:IndexUrl"] = "http://127.0.0.1:1/simple" });

        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "unreachable", Packages = ["nosuchpackage"] });
        var runtime = await server.Admin.WaitSettledAsync("unreachable");

        Assert.Equal("failed", runtime.State);
        Assert.Contains("WARNING: Retrying", runtime.LastInstall!.Output);
        Assert.DoesNotContain("WARNING", runtime.Error);
        Assert.DoesNotContain("WARNING", runtime.LastInstall.Error);
        Assert.EndsWith("ERROR: No matching distribution found for nosuchpackage", runtime.Error);
    }

    [Fact]
    public async Task Packages_LeaveOutTheInstallersOwnTools_UnlessAskedFor()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "plain", Packages = ["tinypkg"] });
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "withpip", Packages = ["PIP"] });
        var plain = await server.Admin.WaitSettledAsync("plain");
        var withPip = await server.Admin.WaitSettledAsync("withpip");

        Assert.Equal(["tinypkg"], plain.Packages.Select(p => p.Name));
        Assert.Equal(["pip"], withPip.Packages.Select(p => p.Name));
    }

    [Fact]
    public async Task SmokeTest_KeepsFailedJobForInspection_WhenRuntimeIsBroken()
    {
        await using var server = await RuntimeServer.StartAsync(output);

        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "broken", Packages = ["brokenprint"] });
        var runtime = await server.Admin.WaitSettledAsync("broken");

        Assert.Equal("failed", runtime.State);
        Assert.Contains("print is broken", runtime.Error);
        var job = await server.Admin.GetJobAsync(runtime.SmokeTestJobId!);
        Assert.Equal("failed", job.Status);
        var logs = await (await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs")).ReadAsync<LogPageResponse>();
        Assert.Contains(logs.Lines, l => l.Stream == "stderr" && l.Text.Contains("RuntimeError: print is broken"));
        var refused = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "broken", Script = "1" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
    }

    [Fact]
    public async Task Create_FailsSayingTheExitCode_WhenTheEnvironmentEndsPythonAtStartSilently()
    {
        await using var server = await RuntimeServer.StartAsync(output);

        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "exits", Packages = ["exitsatstart"] });
        var runtime = await server.Admin.WaitSettledAsync("exits");
        var refused = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "exits", Script = "print(1)" });

        Assert.Equal("failed", runtime.State);
        Assert.Equal("The runtime's zygote did not start: The zygote of runtime 'exits' exited before connecting: its Python ended with exit code 3 at start, printing nothing.",
            runtime.Error);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.EndsWith("exit code 3 at start, printing nothing.", (await refused.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Test_RerunsTheSmokeTest_WhenItFailed_ButIsRefused_WhenTheRuntimeDidNotBuild()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "broken", Packages = ["brokenprint"] });
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "unbuilt", Packages = ["nosuchpackage"] });
        var broken = await server.Admin.WaitSettledAsync("broken");
        var unbuilt = await server.Admin.WaitSettledAsync("unbuilt");

        var retest = await server.Admin.PostAsync("/api/v1/runtimes/broken/test", null);
        var refused = await server.Admin.PostAsync("/api/v1/runtimes/unbuilt/test", null);

        Assert.Equal(("failed", "failed"), (broken.State, unbuilt.State));
        Assert.Null(unbuilt.SmokeTestJobId);
        // The smoke test ran again (a new job, claimed although the runtime had failed) and failed as before.
        var tested = await retest.ReadAsync<RuntimeResponse>();
        Assert.Equal("failed", tested.State);
        Assert.NotEqual(broken.SmokeTestJobId, tested.SmokeTestJobId);
        Assert.Contains("print is broken", tested.Error);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("did not build", (await refused.JsonAsync()).GetProperty("detail").GetString());
        var job = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "unbuilt", Script = "print(1)" });
        // The sentence first, then the installer's error lines, which would otherwise split it.
        Assert.StartsWith("Runtime 'unbuilt' failed, so it runs no jobs. Fix it (install packages again) or use another runtime. Why it failed: Installing packages failed: ERROR: ",
            (await job.JsonAsync()).GetProperty("detail").GetString());

        // Installing again builds it afresh, with what is asked now (the package that never installed is not kept).
        var install = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/unbuilt/packages", new RuntimeInstallRequest { Packages = ["tinypkg"] }, RunboxJson.Options);
        var rebuilt = await server.Admin.WaitSettledAsync("unbuilt");
        Assert.Equal(HttpStatusCode.Accepted, install.StatusCode);
        Assert.Equal("operational", rebuilt.State);
        Assert.Equal(["tinypkg"], rebuilt.Requirements);
    }

    [Fact]
    public async Task BashAndNodeJobs_IgnoreTheRuntimeNamed_AndRun()
    {
        await using var server = await RuntimeServer.StartAsync(output);

        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Language = "bash", Runtime = "nosuchruntime", Script = "echo ran" }, wait: true);

        Assert.Equal(("succeeded", "ran\n", "default"), (job.Status, job.Stdout, job.Runtime));
    }

    [Fact]
    public async Task DeleteAndInstall_AreRefusedAtOnce_WhileInstalling_UntilDeleteIsForced()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "slow", Packages = ["tinypkg"] });

        var delete = await server.Admin.DeleteAsync("/api/v1/runtimes/slow");
        var install = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/slow/packages", new RuntimeInstallRequest { Packages = ["extrapkg"] }, RunboxJson.Options);
        // Still installing once both were answered: they were refused, not queued behind the build (a venv, then pip).
        var state = (await server.Admin.GetRuntimeAsync("slow")).State;
        var forced = await server.Admin.DeleteAsync("/api/v1/runtimes/slow?force=true");

        Assert.Equal("installing", state);
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, install.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, forced.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/api/v1/runtimes/slow")).StatusCode);
    }

    [Fact]
    public async Task Submit_RefusesWithProblem_WhenRuntimeUnknown()
    {
        await using var server = await RuntimeServer.StartAsync(output);

        var response = await server.Admin.SubmitAsync(new JobSubmission { Runtime = "nowhere", Script = "print(1)" });
        var problem = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no runtime 'nowhere'", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("runtime", out _));
    }

    [Fact]
    public async Task Runtimes_RefuseNonAdminKeys_AndBadInput()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        var (user, _) = await server.UserAsync("user");

        var forbidden = await user.GetAsync("/api/v1/runtimes");
        var badName = await server.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "Bad Name" }, RunboxJson.Options);
        var noVersion = await server.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "old", PythonVersion = "3.99" }, RunboxJson.Options);
        // 3.7 is never found, installed (pyenv here has it) or not: the answer says why rather than that it is missing.
        var tooOld = await server.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "old", PythonVersion = "3.7" }, RunboxJson.Options);
        var missing = await server.Admin.GetAsync("/api/v1/runtimes/missing");
        var deleteDefault = await server.Admin.DeleteAsync("/api/v1/runtimes/default");
        var list = await (await server.Admin.GetAsync("/api/v1/runtimes")).ReadAsync<RuntimeListResponse>();

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noVersion.StatusCode);
        Assert.StartsWith("python_version: no Python 3.99 is installed on this host; found: ", (await noVersion.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, tooOld.StatusCode);
        Assert.StartsWith("python_version: Python 3.7 is older than 3.8, the oldest a runtime runs on; found: ", (await tooOld.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, deleteDefault.StatusCode);
        var @default = Assert.Single(list.Runtimes);
        Assert.Equal("default", @default.Name);
        Assert.Null(@default.VenvPath);
        Assert.Equal((await PythonInterpreters.FindAllAsync())[0].VersionText, @default.PythonVersion);
    }

    [Fact]
    public async Task CreateAndInstall_RefuseRequirementsThatSayWhereToGetThePackage()
    {
        using var elsewhere = new TempFolder();
        var wheel = TinyWheel.Write(elsewhere.Path, "tinypkg", "0.1", new Dictionary<string, string> { ["tinypkg/__init__.py"] = "VALUE = 1\n" });
        await using var index = await GatedWheelServer.StartAsync(elsewhere.Path, "nothing-gated");
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "plain" });
        Assert.Equal("operational", (await server.Admin.WaitSettledAsync("plain")).State);

        // Each would have pip fetch past the wheel folder and offline mode the server is configured with.
        foreach (var requirement in new[] { $"tinypkg @ {index.Url}{Path.GetFileName(wheel)}", $"{index.Url}{Path.GetFileName(wheel)}", wheel, $"file://{wheel}",
            "./tinypkg-0.1-py3-none-any.whl", "git+https://127.0.0.1:1/tinypkg.git" })
        {
            var created = await server.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "fetched", Packages = [requirement] }, RunboxJson.Options);
            var installed = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/plain/packages", new RuntimeInstallRequest { Packages = [requirement] }, RunboxJson.Options);

            foreach (var response in new[] { created, installed })
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                var problem = await response.JsonAsync();
                Assert.Contains("packages come from the server's configured index or wheel folder", problem.GetProperty("detail").GetString());
                Assert.True(problem.GetProperty("errors").TryGetProperty("packages", out _));
            }
        }
        // Markers and extras stay allowed.
        var marked = await server.Admin.PostAsJsonAsync("/api/v1/runtimes/plain/packages", new RuntimeInstallRequest { Packages = ["tinypkg[extra] >=0.1 ; python_version >= \"3.8\""] }, RunboxJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, marked.StatusCode);
        var plain = await server.Admin.WaitSettledAsync("plain");
        Assert.Contains(new PackageResponse("tinypkg", "0.1"), plain.Packages);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/api/v1/runtimes/fetched")).StatusCode);
    }

    [Fact]
    public async Task Create_IsRefused_SayingWhatToDo_WhenTheNameIsTaken()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "taken", Packages = ["nosuchpackage"] });
        Assert.Equal("failed", (await server.Admin.WaitSettledAsync("taken")).State);

        // A first try that failed is the usual reason to create again: the answer says how to go on.
        var again = await server.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "taken", Packages = ["tinypkg"] }, RunboxJson.Options);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("A runtime named 'taken' exists already: install packages into it, or delete it first to create it anew.",
            (await again.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Delete_RefusesWhileJobRuns_UntilForced()
    {
        await using var server = await RuntimeServer.StartAsync(output);
        var created = await server.Admin.CreateAsync(new RuntimeCreateRequest { Name = "busy" });
        Assert.Equal("operational", (await server.Admin.WaitSettledAsync("busy")).State);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Runtime = "busy", Script = "import time; print('up', flush=True); time.sleep(60)" });
        while ((await server.Admin.GetJobAsync(job.Id)).Status == "queued")
        {
            await Task.Delay(100);
        }

        var refused = await server.Admin.DeleteAsync("/api/v1/runtimes/busy");
        var forced = await server.Admin.DeleteAsync("/api/v1/runtimes/busy?force=true");
        var ended = await server.Admin.WaitEndedAsync(job.Id);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains(job.Id, (await refused.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NoContent, forced.StatusCode);
        Assert.Equal("cancelled", ended.Status);
        Assert.False(Directory.Exists(created.VenvPath));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/api/v1/runtimes/busy")).StatusCode);
    }

    [Fact]
    public async Task Restart_KeepsRuntimes_FailsOneLeftInstalling_AndRemovesACopyLeftByAnInstall()
    {
        using var data = new TempFolder();
        await using (var first = await RuntimeServer.StartAsync(output, data))
        {
            await first.Admin.CreateAsync(new RuntimeCreateRequest { Name = "kept", Packages = ["tinypkg"], Preload = ["tinypkg"] });
            Assert.Equal("operational", (await first.Admin.WaitSettledAsync("kept")).State);
        }
        // What a killed process leaves: a record still installing.
        string venv;
        await using (var store = new SqliteJobStore(data.Path))
        {
            var now = DateTimeOffset.UtcNow;
            await store.TryInsertRuntimeAsync(new RuntimeRecord { Name = "interrupted", Progress = "installing numpy", CreatedAt = now, UpdatedAt = now });
            // One stopped after its install had switched it to the new environment, before the smoke test ended.
            await store.TryInsertRuntimeAsync(new RuntimeRecord { Name = "switched", State = RuntimeState.Operational, Progress = "smoke test", CreatedAt = now, UpdatedAt = now });
            // And an install into a copy of kept's environment, stopped halfway.
            var stopped = (await store.GetRuntimeAsync("kept"))!;
            venv = stopped.VenvPath!;
            // The installer's latest line by then, not the packages asked.
            await store.UpdateRuntimeAsync(stopped with { Progress = "Processing /wheels/extrapkg-1.0-py3-none-any.whl", InstallingPackages = ["extrapkg"] });
        }
        var copy = Directory.CreateDirectory(venv + "+20261203120000000").FullName;
        File.WriteAllText(Path.Combine(copy, "pyvenv.cfg"), "home = /usr/bin\n");

        await using var second = await RuntimeServer.StartAsync(output, data);
        var kept = await second.Admin.GetRuntimeAsync("kept");
        var interrupted = await second.Admin.GetRuntimeAsync("interrupted");
        var switched = await second.Admin.GetRuntimeAsync("switched");
        var job = await second.Admin.SubmitOkAsync(new JobSubmission { Runtime = "kept", Script = "import sys; print('tinypkg' in sys.modules)" }, wait: true);

        Assert.Equal(("operational", null, venv), (kept.State, kept.Progress, kept.VenvPath));
        Assert.Contains("server stopped during this install", kept.LastInstall!.Error);
        Assert.Equal(["extrapkg"], kept.LastInstall.Packages);
        Assert.False(Directory.Exists(copy), "the copy left by the stopped install is still there");
        Assert.True(Directory.Exists(venv));
        Assert.Contains(new PackageResponse("tinypkg", "0.1"), kept.Packages);
        Assert.Equal(("operational", null, null), (switched.State, switched.Progress, switched.LastInstall));
        Assert.Equal("failed", interrupted.State);
        Assert.Contains("stopped while this runtime was installing", interrupted.Error);
        Assert.Equal("True\n", job.Stdout);
    }
    [Fact]
    public async Task Restart_StopsTheInstallersAKilledServerLeftRunning_BeforeItRemovesOrRebuildsTheirFolders()
    {
        using var wheels = new TempFolder();
        RuntimeServer.WriteWheels(wheels.Path);
        await using var index = await GatedWheelServer.StartAsync(wheels.Path, "extrapkg-");
        using var data = new TempFolder();
        var port = ServeProcess.FreePort();
        string[] settings = [$"--Runbox:Packages:FindLinks={index.Url}", "--Runbox:Packages:Offline=true"];
        string key;
        await using (var first = await ServeProcess.StartAsync(data.Path, port, output, settings))
        {
            key = (await File.ReadAllTextAsync(Path.Combine(data.Path, "admin.key"))).Trim();
            using var admin = first.Client(key);
            await admin.CreateAsync(new RuntimeCreateRequest { Name = "base", Packages = ["tinypkg"] });
            Assert.Equal("operational", (await admin.WaitSettledAsync("base")).State);
            // Both pips wait on extrapkg's download: one into a copy of base's environment, one building fresh's.
            await admin.PostAsJsonAsync("/api/v1/runtimes/base/packages", new RuntimeInstallRequest { Packages = ["extrapkg"] }, RunboxJson.Options);
            await admin.CreateAsync(new RuntimeCreateRequest { Name = "fresh", Packages = ["extrapkg"] });
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (Installers(data.Path).Count < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "the two installs did not start");
                await Task.Delay(100);
            }
            await first.KillHardAsync();
        }
        var orphans = Installers(data.Path);

        await using var second = await ServeProcess.StartAsync(data.Path, port, output, settings);
        var left = Installers(data.Path);
        // Had they run on, they would now install extrapkg into folders the start removed or that are rebuilt below.
        index.Release();
        using var client = second.Client(key);
        var @base = await client.GetRuntimeAsync("base");
        await client.PostAsJsonAsync("/api/v1/runtimes/fresh/packages", new RuntimeInstallRequest { Packages = ["tinypkg"] }, RunboxJson.Options);
        var fresh = await client.WaitSettledAsync("fresh");

        Assert.Equal(2, orphans.Count); // what SIGKILL leaves: the installers are not the server's to take along
        Assert.Empty(left);
        Assert.Equal(("operational", null), (@base.State, @base.Progress));
        Assert.False(@base.LastInstall!.Succeeded);
        Assert.Equal(["extrapkg"], @base.LastInstall.Packages);
        Assert.Empty(Directory.GetDirectories(Path.Combine(data.Path, "runtimes"), "base+*"));
        // Built afresh, with what its creation asked (never refused, only stopped) and what is asked now.
        Assert.Equal("operational", fresh.State);
        Assert.Equal(["extrapkg", "tinypkg"], fresh.Packages.Select(p => p.Name));
    }

    /// <summary>The pip processes working in a folder of <paramref name="data"/>'s runtimes, by their command lines.</summary>
    internal static List<int> Installers(string data)
    {
        var folder = Path.Combine(data, "runtimes") + "/";
        var found = new List<int>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(proc), out var pid))
            {
                try
                {
                    var command = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                    if (command.Contains(folder, StringComparison.Ordinal) && command.Contains(" pip install ", StringComparison.Ordinal))
                    {
                        found.Add(pid);
                    }
                }
                catch (IOException)
                {
                }
            }
        }
        return found;
    }
}

using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    private static RuntimeRecord Runtime(string name, RuntimeState state = RuntimeState.Installing) => new()
    {
        Name = name,
        State = state,
        PythonVersionRequested = "3.12",
        PythonVersion = "3.12.1",
        InterpreterPath = $"/data/runtimes/{name}/bin/python",
        BaseInterpreterPath = "/usr/bin/python3.12",
        VenvPath = $"/data/runtimes/{name}",
        Requirements = ["tinypkg==0.1"],
        Packages = [new InstalledPackage("pip", "24.0"), new InstalledPackage("tinypkg", "0.1")],
        Preload = ["json", "missing_module"],
        PreloadErrors = new Dictionary<string, string> { ["missing_module"] = "ModuleNotFoundError: No module named 'missing_module'" },
        SmokeTestJobId = "job_smoke",
        Error = null,
        LastInstall = new InstallAttempt
        {
            Packages = ["nosuch"],
            Error = "ERROR: No matching distribution found for nosuch",
            Output = "Looking in links: /srv/wheels\nERROR: No matching distribution found for nosuch\n",
            EndedAt = TestJobs.Epoch.AddSeconds(4),
        },
        CreatedAt = TestJobs.Epoch,
        UpdatedAt = TestJobs.Epoch.AddSeconds(5),
    };

    [SkippableFact]
    public async Task Runtimes_IsAFeature_OfEveryBackend()
    {
        await using var store = await NewStoreAsync();

        Assert.NotNull(store.Runtimes());
    }

    [SkippableFact]
    public async Task TryInsertRuntime_KeepsEveryField_AndRefusesADuplicateName()
    {
        await using var store = await NewStoreAsync();
        var runtimes = store.Runtimes()!;
        var runtime = Runtime("science");

        Assert.True(await runtimes.TryInsertRuntimeAsync(runtime));
        Assert.False(await runtimes.TryInsertRuntimeAsync(runtime with { State = RuntimeState.Ready }));

        Assert.Equal(runtime, await runtimes.GetRuntimeAsync("science"));
        Assert.Null(await runtimes.GetRuntimeAsync("missing"));
    }

    [SkippableFact]
    public async Task UpdateRuntime_ReplacesTheRecord_WhenItExists()
    {
        await using var store = await NewStoreAsync();
        var runtimes = store.Runtimes()!;
        await runtimes.TryInsertRuntimeAsync(Runtime("science"));
        var failed = Runtime("science", RuntimeState.Failed) with
        {
            Error = "smoke test failed",
            PreloadErrors = new Dictionary<string, string>(),
            UpdatedAt = TestJobs.Epoch.AddMinutes(1),
        };

        Assert.True(await runtimes.UpdateRuntimeAsync(failed));
        Assert.False(await runtimes.UpdateRuntimeAsync(Runtime("other")));

        Assert.Equal(failed, await runtimes.GetRuntimeAsync("science"));
        Assert.Null(await runtimes.GetRuntimeAsync("other"));
    }

    [SkippableFact]
    public async Task ListRuntimes_ReturnsAllByName_AndDeleteRemovesOne()
    {
        await using var store = await NewStoreAsync();
        var runtimes = store.Runtimes()!;
        await runtimes.TryInsertRuntimeAsync(Runtime("web"));
        await runtimes.TryInsertRuntimeAsync(Runtime("default", RuntimeState.Operational) with { VenvPath = null });
        await runtimes.TryInsertRuntimeAsync(Runtime("science"));

        Assert.Equal(["default", "science", "web"], (await runtimes.ListRuntimesAsync()).Select(r => r.Name));
        Assert.Null((await runtimes.ListRuntimesAsync())[0].VenvPath);

        Assert.True(await runtimes.DeleteRuntimeAsync("science"));
        Assert.False(await runtimes.DeleteRuntimeAsync("science"));
        Assert.Equal(["default", "web"], (await runtimes.ListRuntimesAsync()).Select(r => r.Name));
    }
}

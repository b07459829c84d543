using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// What an embedder can get wrong in a <see cref="JobRequest"/>: each ends the job with status error and a sentence
/// naming the problem, before it takes a slot, never as an exception from deep inside the engine or a job that starts
/// and fails for a reason it cannot name.
/// </summary>
public sealed class JobRequestValidationTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private JobEngine Engine => fixture.Engine;

    public static TheoryData<JobLimits, string> BadLimits => new()
    {
        { new JobLimits { Timeout = TimeSpan.FromSeconds(-1) }, "the timeout must be positive" },
        { new JobLimits { Timeout = TimeSpan.Zero }, "the timeout must be positive" },
        { new JobLimits { Timeout = TimeSpan.MaxValue }, "the timeout must be positive and at most 4294967 seconds" },
        { new JobLimits { CpuSeconds = -1 }, "the CPU time limit must be a positive number" },
        { new JobLimits { CpuSeconds = double.NaN }, "the CPU time limit must be a positive number" },
        { new JobLimits { CpuSeconds = 1e300 }, "the CPU time limit must be a positive number of seconds, at most" },
        { new JobLimits { MemoryBytes = -5 }, "the memory limit must be a positive number of bytes, not -5" },
        { new JobLimits { MemoryBytes = 0 }, "the memory limit must be a positive number of bytes, not 0" },
        { new JobLimits { Processes = 0 }, "the process limit must be between 1 and 4194304, not 0" },
        { new JobLimits { Processes = int.MaxValue }, "the process limit must be between 1 and 4194304" },
        { new JobLimits { OutputBytes = -1 }, "the output limit must be 0 or more bytes" },
        { new JobLimits { FileSizeBytes = -1 }, "the file size limit must be 0 or more bytes" },
        { new JobLimits { OpenFiles = 0 }, "the open files limit must be a positive number" },
    };

    [Theory]
    [MemberData(nameof(BadLimits))]
    public async Task StartAsync_RejectsALimitOutOfRange_NamingIt(JobLimits limits, string expected)
    {
        var result = await Engine.RunAsync(new JobRequest { Script = "print(1)", Limits = limits });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.StartsWith(expected, result.Error);
    }

    public static TheoryData<JobRequest, string> NullMembers => new()
    {
        { new JobRequest { Script = "print(1)", Runtime = null! }, "runtime is empty" },
        { new JobRequest { Script = "print(1)", Args = null! }, "args is null" },
        { new JobRequest { Script = "print(1)", Args = ["a", null!] }, "holds a null argument" },
        { new JobRequest { Script = "print(1)", Environment = null! }, "environment is null" },
        { new JobRequest { Script = "print(1)", Environment = new Dictionary<string, string> { ["A"] = null! } }, "holds a null value" },
        { new JobRequest { Script = "print(1)", Limits = null! }, "limits is null" },
        { new JobRequest { Files = new Dictionary<string, byte[]> { ["main.py"] = null! } }, "file 'main.py' has null content" },
        { new JobRequest { Script = "print(1)", Language = (JobLanguage)42 }, "unknown language 42" },
    };

    [Theory]
    [MemberData(nameof(NullMembers))]
    public async Task StartAsync_RejectsAMissingOrUnknownMember_NamingIt(JobRequest request, string expected)
    {
        var result = await Engine.RunAsync(request);

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Contains(expected, result.Error);
    }

    [Fact]
    public async Task RunAsync_RunsWithTheLargestLimits_WhereNoCgroupMeasuresMemory()
    {
        // Without a memory cgroup the memory limit becomes an address space limit with headroom above it, which must
        // not wrap around for the largest limit.
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 1, Sandbox = new SandboxOptions { Cgroups = false } });

        var result = await engine.RunAsync(new JobRequest
        {
            Script = "print(1)",
            Limits = new JobLimits { MemoryBytes = long.MaxValue, Processes = 4 * 1024 * 1024, Timeout = TimeSpan.FromSeconds(20) },
        });

        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status}: {result.Error} {System.Text.Encoding.UTF8.GetString(result.Stderr)}");
    }

    [Fact]
    public async Task RuntimeMethods_Throw_WhenGivenNoRuntime()
    {
        Assert.Equal("runtime", Assert.Throws<ArgumentNullException>(() => Engine.SetRuntime(null!)).ParamName);
        Assert.Equal("runtime.Name", Assert.Throws<ArgumentNullException>(() => Engine.SetRuntime(new RuntimeDefinition { Name = null!, PythonPath = "/usr/bin/python3" })).ParamName);
        Assert.Equal("name", (await Assert.ThrowsAsync<ArgumentNullException>(() => Engine.RemoveRuntimeAsync(null!))).ParamName);
        Assert.Equal("runtime", (await Assert.ThrowsAsync<ArgumentException>(() => Engine.WarmUpAsync(""))).ParamName);
    }

    [Fact]
    public async Task StartAsync_Throws_WhenRequestIsNull()
    {
        var error = await Assert.ThrowsAsync<ArgumentNullException>(() => Engine.StartAsync(null!));

        Assert.Equal("request", error.ParamName);
    }

    [Fact]
    public async Task StartAsync_RejectsAnArtifactDirectoryThatIsAFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await Engine.RunAsync(new JobRequest { Script = "open('out.txt', 'w').write('x')", ArtifactDirectory = file });

            Assert.Equal(JobStatus.Error, result.Status);
            Assert.Equal($"artifact directory '{file}' is a file", result.Error);
            Assert.Equal("", await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task StartAsync_RejectsAFileNameThatIsAlsoAFolderOfAnother()
    {
        var result = await Engine.RunAsync(new JobRequest
        {
            Files = new Dictionary<string, byte[]> { ["lib"] = "x"u8.ToArray(), ["lib/util/main.py"] = "print(1)"u8.ToArray() },
            Entrypoint = "lib/util/main.py",
        });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal("file name 'lib' is also a folder, of 'lib/util/main.py'", result.Error);
    }

    [Fact]
    public async Task StartAsync_RefusesAScriptAndAFileOfTheEntryPointsName_RatherThanReplaceTheFile()
    {
        var files = new Dictionary<string, byte[]> { ["main.py"] = "print('from files')"u8.ToArray() };

        var result = await Engine.RunAsync(new JobRequest { Script = "print('from script')", Files = files });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal("script and files both give 'main.py' (the script is written to the entry point): leave it out of files, or give no script", result.Error);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task RunAsync_RunsAScriptWithTheFilesItUses()
    {
        var files = new Dictionary<string, byte[]> { ["data.txt"] = "from a file"u8.ToArray() };

        var result = await Engine.RunAsync(new JobRequest { Script = "print(open('data.txt').read())", Files = files });

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("from a file\n", System.Text.Encoding.UTF8.GetString(result.Stdout));
    }

    [Fact]
    public async Task StartAsync_RefusesAJobAskingForNetwork_WhereTheEngineDoesNotAllowIt()
    {
        Assert.False(Engine.Options.AllowNetwork);

        var result = await Engine.RunAsync(new JobRequest { Script = "print('ran offline')", Network = true });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal("the job asks for network, which this engine does not allow (EngineOptions.AllowNetwork is off)", result.Error);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("", "artifact directory is empty; give a folder, or null for none")]
    [InlineData("/tmp/a\0b", "artifact directory contains NUL")]
    public async Task StartAsync_RejectsAnArtifactDirectoryThatCannotBeAPath(string directory, string expected)
    {
        // Before, the job ran, then never ended (its slot was lost with it): the wait is bounded so that shows as a failure.
        var result = await Engine.RunAsync(new JobRequest { Script = "open('out.txt', 'w').write('x')", ArtifactDirectory = directory })
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal(expected, result.Error);
    }

    [Fact]
    public async Task RunAsync_SaysArtifactsWereNotCollected_WhenTheirDirectoryCannotBeMade()
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await Engine.RunAsync(new JobRequest { Script = "open('out.txt', 'w').write('x')", ArtifactDirectory = Path.Combine(file, "artifacts") });

            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.Empty(result.Artifacts);
            Assert.StartsWith("the artifacts could not be collected: ", result.Error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Constructor_Throws_WhenDefaultLimitsAreOutOfRange()
    {
        using var root = new WorkRootFolder();

        var error = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions
        {
            WorkRoot = root.Path,
            DefaultLimits = new JobLimits { MemoryBytes = -1 },
        }));

        Assert.Contains("DefaultLimits: the memory limit must be a positive number of bytes", error.Message);
        await Task.CompletedTask;
    }

    public static TheoryData<EngineOptions, string> BadOptions => new()
    {
        { new EngineOptions { PoolSize = -1 }, "PoolSize must be between 0 and 64, not -1." },
        // Refused before anything starts: the slot queue filled for minutes, and the zygotes forked without end.
        { new EngineOptions { Slots = 100_000_000 }, "Slots must be between 1 and 1024, not 100000000." },
        { new EngineOptions { Slots = 1025 }, "Slots must be between 1 and 1024, not 1025." },
        { new EngineOptions { PoolSize = 100_000 }, "PoolSize must be between 0 and 64, not 100000." },
        { new EngineOptions { Sandbox = new SandboxOptions { FirstUid = 0 } }, "Sandbox.FirstUid must be at least 1, not 0." },
        { new EngineOptions { Sandbox = new SandboxOptions { UidCount = 0 } }, "Sandbox.UidCount must be at least 1" },
        { new EngineOptions { NodePath = "/nonexistent/node" }, "NodePath '/nonexistent/node' does not exist." },
        { new EngineOptions { OutputDrain = TimeSpan.FromSeconds(-1) }, "OutputDrain must be between 0 and" },
        { new EngineOptions { MaxArtifactCount = -1 }, "MaxArtifactCount must be 0 or more, not -1." },
        { new EngineOptions { MaxArtifactBytes = -1 }, "MaxArtifactBytes must be 0 or more, not -1." },
        { new EngineOptions { Runtimes = null! }, "Runtimes is null" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Constructor_Throws_WhenAnOptionIsOutOfRange(EngineOptions options, string expected)
    {
        using var root = new WorkRootFolder();

        var error = Assert.Throws<ArgumentException>(() => new JobEngine(options with { WorkRoot = root.Path }));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Constructor_ListsEveryBadOption_AtOnce()
    {
        using var root = new WorkRootFolder();

        var error = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 0, PoolSize = -1 }));

        Assert.StartsWith("Slots must be between 1 and 1024, not 0. PoolSize must be between 0 and 64, not -1.", error.Message);
    }

    [Fact]
    public void Constructor_NamesTheOption_WhenARuntimeOrTheWorkRootIsUnusable()
    {
        using var root = new WorkRootFolder();
        RuntimeDefinition[] runtimes =
        [
            new() { Name = "np", PythonPath = "/usr/bin/python3", Preload = null! },
            new() { Name = "ne", PythonPath = "/usr/bin/python3", Environment = null! },
            new() { Name = "bad", PythonPath = "/usr/bin/python3", Environment = new Dictionary<string, string> { ["A=B"] = "1" } },
        ];

        var error = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions { WorkRoot = root.Path, Runtimes = runtimes }));
        var nul = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions { WorkRoot = root.Path + "\0x" }));

        Assert.StartsWith(
            "Runtimes: runtime 'np' has a null Preload or a null module name in it. Runtimes: runtime 'ne' has a null Environment. "
            + "Runtimes: runtime 'bad': environment variable name 'A=B' is empty or contains '=' or NUL.", error.Message);
        Assert.StartsWith("WorkRoot contains NUL.", nul.Message);
    }

    [Fact]
    public void SetRuntime_Throws_WhenItsPreloadOrEnvironmentIsUnusable()
    {
        var preload = Assert.Throws<ArgumentException>(() => Engine.SetRuntime(new RuntimeDefinition { Name = "np", PythonPath = "/usr/bin/python3", Preload = ["json", null!] }));
        var environment = Assert.Throws<ArgumentException>(() => Engine.SetRuntime(new RuntimeDefinition { Name = "ne", PythonPath = "/usr/bin/python3", Environment = new Dictionary<string, string> { ["A"] = null! } }));

        Assert.Equal("runtime", preload.ParamName);
        Assert.StartsWith("runtime 'np' has a null Preload or a null module name in it", preload.Message);
        Assert.StartsWith("runtime 'ne': environment variable 'A' is null", environment.Message);
    }

    [Fact]
    public void Constructor_NamesTheWorkRoot_WhenItCannotBeMade()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<IOException>(() => new JobEngine(new EngineOptions { WorkRoot = Path.Combine(file, "work") }));

            Assert.Contains($"EngineOptions.WorkRoot '{Path.Combine(file, "work")}' cannot be used", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

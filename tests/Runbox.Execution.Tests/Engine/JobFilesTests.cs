using System.Diagnostics;
using Runbox.Execution.Engine;

namespace Runbox.Execution.Tests.Engine;

/// <summary>Removing a job's folder, whatever the job named and nested there (the engine's own side; no job runs).</summary>
public sealed class JobFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("rb-files-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Runs a harmless Python snippet that makes files .NET cannot name (bytes that are not UTF-8).</summary>
    private static void Make(string folder, string python)
    {
        using var process = Process.Start(new ProcessStartInfo("python3", ["-c", "import os\nos.chdir(" + $"'{folder}'" + ")\n" + python])
        {
            RedirectStandardError = true,
        })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, error);
    }

    [Fact]
    public void Remove_TakesNamesThatAreNotUtf8_TreesDeeperThanAPath_AndUnwritableFolders_ButNoLinkTarget()
    {
        var outside = Path.Combine(_root, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep.txt"), "keep");
        var folder = Path.Combine(_root, "job");
        Directory.CreateDirectory(folder);
        Make(folder, $"""
            open(b"a\xffbad", "wb").write(b"x")
            os.mkdir(b"b\xfedir")
            open(b"b\xfedir/c\xfd", "wb").write(b"x")
            os.symlink("{outside}", "link")
            os.mkdir("ro")
            open("ro/f", "w").write("x")
            os.mkdir("ro/sub")
            os.chmod("ro/sub", 0o500)
            os.chmod("ro", 0o500)
            os.mkdir(".runbox-lifted-0")
            for _ in range(2200):
                os.mkdir("d")
                os.chdir("d")
            open("leaf", "w").write("x")
            """);
        JobFiles.Remove(folder);
        Assert.False(Directory.Exists(folder));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(outside, "keep.txt")));
    }

    [Fact]
    public async Task Collect_NeverReadsThroughALinkedFolder_EvenOneSwappedInWhileItWalks()
    {
        // What a job process still running during collection could do (the init freezes them first; this is the
        // second line): swap a folder it made for a link to a host folder between the walk's listing and its opens.
        var host = Directory.CreateDirectory(Path.Combine(_root, "host")).FullName;
        File.WriteAllText(Path.Combine(host, "secret"), "host's");
        var job = Directory.CreateDirectory(Path.Combine(_root, "job")).FullName;
        var folder = Path.Combine(job, "d");
        var real = Path.Combine(job, "real");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Combine(real, "secret"), "job's");
        Directory.Move(real, folder);
        var inputs = new Dictionary<string, (long Size, DateTime Modified)>();

        var read = new List<string>();
        var round = 0;
        await WhileSwappedForALinkAsync(folder, host, () =>
        {
            var destination = Path.Combine(_root, $"out{round++ % 2}");
            if (Directory.Exists(destination))
            {
                Directory.Delete(destination, recursive: true);
            }
            foreach (var artifact in JobFiles.Collect(job, inputs, destination, 1 << 20, 100, out _))
            {
                read.Add(File.ReadAllText(artifact.Path));
            }
        });
        Assert.Contains("job's", read);
        Assert.DoesNotContain("host's", read);
    }

    /// <summary>
    /// Runs <paramref name="walk"/> over and over for 3 s while the job's folder <paramref name="folder"/> is by turns
    /// itself, nothing, and a link to <paramref name="host"/>: what a job process still running during a walk could do
    /// (the init freezes them first; descriptors are the second line) between a walk's listing and its opens.
    /// </summary>
    private static async Task WhileSwappedForALinkAsync(string folder, string host, Action walk)
    {
        var job = Path.GetDirectoryName(folder)!;
        var real = Path.Combine(job, "real");
        var link = Path.Combine(job, "link");
        using var stop = new CancellationTokenSource();
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                File.CreateSymbolicLink(link, host);
                Directory.Move(folder, real);
                Directory.Move(link, folder);
                Directory.Move(folder, link);
                Directory.Move(real, folder);
                File.Delete(link);
            }
        });
        try
        {
            var until = DateTime.UtcNow.AddSeconds(3);
            while (DateTime.UtcNow < until)
            {
                walk();
            }
        }
        finally
        {
            stop.Cancel();
            await swapper;
        }
    }

    [Fact]
    public async Task Snapshot_NeverListsThroughALinkedFolder_EvenOneSwappedInWhileItWalks()
    {
        var host = Directory.CreateDirectory(Path.Combine(_root, "host")).FullName;
        File.WriteAllText(Path.Combine(host, "host-only"), "host's");
        var job = Directory.CreateDirectory(Path.Combine(_root, "job")).FullName;
        var folder = Directory.CreateDirectory(Path.Combine(job, "d")).FullName;
        File.WriteAllText(Path.Combine(folder, "input"), "job's");
        File.CreateSymbolicLink(Path.Combine(job, "linked"), host);

        var seen = new HashSet<string>();
        await WhileSwappedForALinkAsync(folder, host, () => seen.UnionWith(JobFiles.Snapshot(job).Keys));
        var still = JobFiles.Snapshot(job);

        Assert.Contains("d/input", seen);
        Assert.DoesNotContain("d/host-only", seen);
        Assert.DoesNotContain("linked/host-only", seen);
        // Size and time as Collect reads them, so an input left unchanged is not reported as an artifact.
        var info = new FileInfo(Path.Combine(folder, "input"));
        Assert.Equal((info.Length, info.LastWriteTimeUtc), still["d/input"]);
        Assert.Equal(["d/input"], still.Keys);
    }

    [SkippableFact]
    public async Task ChownTree_NeverChangesAHostFileThroughALinkedFolder_EvenOneSwappedInWhileItWalks()
    {
        Skip.IfNot(Runbox.Execution.Native.Libc.GetEffectiveUserId() == 0, "changing a file's owner to another user needs root");
        var host = Directory.CreateDirectory(Path.Combine(_root, "host")).FullName;
        var hostFile = Path.Combine(host, "host-only");
        File.WriteAllText(hostFile, "host's");
        var job = Directory.CreateDirectory(Path.Combine(_root, "job")).FullName;
        var folder = Directory.CreateDirectory(Path.Combine(job, "d")).FullName;
        File.WriteAllText(Path.Combine(folder, "input"), "job's");
        var linked = Path.Combine(job, "linked");
        File.CreateSymbolicLink(linked, host);
        var hostOwner = Owner(hostFile);

        await WhileSwappedForALinkAsync(folder, host, () => JobFiles.ChownTree(job, 54321, 54321));

        Assert.Equal(hostOwner, Owner(hostFile));
        Assert.Equal(hostOwner, Owner(host));
        Assert.Equal(54321, Owner(job));
        Assert.Equal(54321, Owner(folder));
        Assert.Equal(54321, Owner(Path.Combine(folder, "input")));
        Assert.Equal(54321, Owner(linked)); // the link itself
    }

    /// <summary>A file's owner, not followed if it is a link.</summary>
    private static int Owner(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var owner = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return int.Parse(owner, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Empty_KeepsTheFolderItself()
    {
        var folder = Path.Combine(_root, "slot");
        Directory.CreateDirectory(folder);
        Make(folder, "os.makedirs('job/x/y')\nopen('job/x/y/z', 'w').write('z')\nopen(b'\\xff', 'w').write('z')\n");
        JobFiles.Empty(folder, unlockTop: false);
        Assert.True(Directory.Exists(folder));
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }
}

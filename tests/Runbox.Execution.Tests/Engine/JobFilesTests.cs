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

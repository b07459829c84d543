using Runbox.Server.Runtimes;
using Runbox.Server.Tests.Infrastructure;

namespace Runbox.Server.Tests.Runtimes;

/// <summary>How interpreters found twice (through a linked folder, a linked file) are told to be one.</summary>
public sealed class PythonInterpretersTests
{
    [Fact]
    public void RealPath_IsTheSame_ForAFileReachedThroughALinkedFolderOrALinkedFile()
    {
        using var folder = new TempFolder();
        var real = Directory.CreateDirectory(Path.Combine(folder.Path, "usr", "bin")).FullName;
        var python = Path.Combine(real, "python3.99");
        File.WriteAllText(python, "");
        // As Debian's /bin -> usr/bin (a relative link to a folder), and a pyenv-style link to the file itself.
        Directory.CreateSymbolicLink(Path.Combine(folder.Path, "bin"), "usr/bin");
        File.CreateSymbolicLink(Path.Combine(real, "python3"), "python3.99");

        Assert.Equal(python, PythonInterpreters.RealPath(Path.Combine(folder.Path, "bin", "python3.99")));
        Assert.Equal(python, PythonInterpreters.RealPath(Path.Combine(folder.Path, "bin", "python3")));
        Assert.Equal(python, PythonInterpreters.RealPath(python));
    }

    [Fact]
    public async Task FindAll_ListsEachInterpreterFileOnce_WhateverLinksLeadToIt()
    {
        var found = await PythonInterpreters.FindAllAsync(refresh: true);

        // The file's identity (device and inode, links followed), as the kernel has it.
        var identities = new List<string>();
        foreach (var interpreter in found)
        {
            using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-L", "-c", "%d:%i", interpreter.Path]) { RedirectStandardOutput = true })!;
            identities.Add((await stat.StandardOutput.ReadToEndAsync()).Trim());
            await stat.WaitForExitAsync();
        }
        Assert.Equal(identities.Count, identities.Distinct().Count());
    }
}

using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Runbox.Execution.Tests.Packaging;

/// <summary>
/// The library as a developer gets it: <c>dotnet pack src/Runbox.Execution</c>, then a console program of their own that
/// references the package from a local folder (everything else from the machine's NuGet configuration), built and run.
/// Everything happens in a temporary folder: the repository's bin/obj and the machine's package cache are left as they
/// were (the package goes into a cache of the test's own, under a version no other run has).
/// </summary>
public sealed class PackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "runbox-tests", "package-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public async Task Pack_GivesAPackage_ThatAConsoleAppInstallsFromAFolder_AndRunsAJobWith()
    {
        var feed = Path.Combine(_root, "feed");
        // A version no earlier run packed: a package cache keeps the first package of a version it saw.
        var suffix = "test" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        var version = $"0.1.0-{suffix}";
        await DotnetAsync(RepositoryRoot(), "pack", Path.Combine(RepositoryRoot(), "src", "Runbox.Execution", "Runbox.Execution.csproj"),
            "-c", "Release", "-o", feed, "--artifacts-path", Path.Combine(_root, "build"), $"-p:VersionSuffix={suffix}");

        var package = Path.Combine(feed, $"Runbox.Execution.{version}.nupkg");
        Assert.True(File.Exists(package), $"no {package}; the folder holds: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        using (var zip = ZipFile.OpenRead(package))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", entries);
            Assert.Contains("lib/net10.0/Runbox.Execution.dll", entries);
            Assert.Contains("lib/net10.0/Runbox.Execution.xml", entries);
            using var nuspecStream = zip.GetEntry("Runbox.Execution.nuspec")!.Open();
            var nuspec = XDocument.Load(nuspecStream);
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal("Runbox.Execution", Field("id"));
            Assert.Equal(version, Field("version"));
            Assert.Equal("README.md", Field("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            // Nothing else of the solution: the library stands alone.
            var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
            Assert.Equal(["Microsoft.Extensions.Logging.Abstractions"], dependencies);
        }

        var app = Path.Combine(_root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Runbox.Execution" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        // The folder is a source beside the machine's own; the machine's package cache serves what it already holds
        // (Microsoft.Extensions.Logging.Abstractions) without a download, and takes nothing from this test.
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(_root, "packages")}" />
              </config>
              <packageSources>
                <add key="runbox-local" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{MachinePackageCache()}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Text;
            using Runbox.Execution.Engine;
            using Runbox.Execution.Jobs;

            await using var engine = new JobEngine(new EngineOptions { WorkRoot = args[0], Slots = 1, PoolSize = 0 });
            var result = await engine.RunAsync(new JobRequest
            {
                Script = "import sys\nprint('hello from', sys.argv[1], sys.stdin.read())",
                Args = ["the package"],
                Stdin = "and stdin"u8.ToArray(),
            });
            Console.WriteLine($"{result.Status.ToWire()} {result.ExitCode}: {Encoding.UTF8.GetString(result.Stdout).Trim()}");
            """);

        var stdout = await DotnetAsync(app, "run", "--", Path.Combine(_root, "work"));

        Assert.Equal("succeeded 0: hello from the package and stdin", stdout.Trim().Split('\n')[^1]);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_root, "work")));
    }

    /// <summary>Runs dotnet with <paramref name="arguments"/> in <paramref name="folder"/>; its stdout, or a failure with all it said.</summary>
    private async Task<string> DotnetAsync(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // No build servers are left running after the test (a compiler server, an MSBuild node).
        start.ArgumentList.Insert(1, "--disable-build-servers");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(StepTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        output.WriteLine($"dotnet {string.Join(' ', arguments)}: exit {process.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s");
        var text = await stdout;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}\n{await stderr}");
        return text;
    }

    private static string MachinePackageCache() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runbox.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Runbox.slnx above {AppContext.BaseDirectory}");
    }
}

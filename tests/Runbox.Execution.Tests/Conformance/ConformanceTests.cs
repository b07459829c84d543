using System.Diagnostics;
using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests.Conformance;

/// <summary>
/// The fast path must behave like <c>python script.py</c>: each script of the corpus runs both ways, with the
/// same arguments and stdin, and stdout, stderr, exit code and signal must match (paths to the script's
/// folder normalised, since the two run in different folders).
/// </summary>
public sealed class ConformanceTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "Conformance", "scripts");
    private static readonly Lazy<string> Python = new(() => InterpreterLocator.ResolvePython());

    [Theory]
    [InlineData("exits.py", "none")]
    [InlineData("exits.py", "zero")]
    [InlineData("exits.py", "three")]
    [InlineData("exits.py", "wrap")]
    [InlineData("exits.py", "negative")]
    [InlineData("exits.py", "message")]
    [InlineData("exits.py", "true")]
    [InlineData("exits.py", "builtin")]
    [InlineData("exits.py", "fallthrough")]
    [InlineData("uncaught.py")]
    [InlineData("interrupt.py")]
    [InlineData("atexit_handlers.py")]
    [InlineData("threads.py")]
    [InlineData("identity.py", "one", "two words")]
    [InlineData("partial.py")]
    [InlineData("bytes_out.py")]
    [InlineData("excepthook.py")]
    [InlineData("signals.py")]
    [InlineData("proc_self.py")]
    [InlineData("forks.py", "exit")]
    [InlineData("forks.py", "fallthrough")]
    public async Task FastPath_MatchesPlainPython_ForScript(string script, params string[] args)
    {
        await AssertSameAsync(script, args, stdin: null);
    }

    [Fact]
    public async Task FastPath_MatchesPlainPython_ForStdinAndInput()
    {
        await AssertSameAsync("stdin_input.py", [], Encoding.UTF8.GetBytes("Ada\nline 2\nline 3\n"));
    }

    [Fact]
    public async Task Job_HonoursVariablesReadAtInterpreterStart_AsPlainPythonDoes()
    {
        // PYTHONPATH, PYTHONOPTIMIZE and PYTHONHASHSEED mean nothing to an interpreter forked after its start.
        var env = new Dictionary<string, string> { ["PYTHONPATH"] = "/opt/extra", ["PYTHONOPTIMIZE"] = "1", ["PYTHONHASHSEED"] = "123" };

        var plain = await AssertSameAsync("startup_env.py", [], stdin: null, env);

        // Both ways honoured them (the same output could also mean neither did).
        Assert.StartsWith("['/opt/extra'] 1 1\nasserts stripped\n", plain.Stdout);
    }

    [Fact]
    public async Task FastPath_GivesEachJobFreshRandomState()
    {
        var first = await RunEngineAsync("randomness.py", [], null);
        var second = await RunEngineAsync("randomness.py", [], null);
        Assert.Equal(JobStatus.Succeeded, first.Status);
        Assert.NotEqual(Encoding.UTF8.GetString(first.Stdout), Encoding.UTF8.GetString(second.Stdout));
    }

    private async Task<Outcome> AssertSameAsync(string script, string[] args, byte[]? stdin, IReadOnlyDictionary<string, string>? env = null)
    {
        var plain = await RunPlainAsync(script, args, stdin, env);
        var engine = await RunEngineAsync(script, args, stdin, env);
        Assert.NotEqual(JobStatus.Error, engine.Status);
        Assert.Equal(plain.Stdout, Normalize(engine.Stdout, engine.Directory));
        Assert.Equal(plain.Stderr, Normalize(engine.Stderr, engine.Directory) + (engine.Stderr.Length == 0 ? "" : ""));
        Assert.Equal(plain.ExitCode, engine.ExitCode);
        Assert.Equal(plain.Signal, engine.Signal);
        return plain;
    }

    private sealed record Outcome(string Stdout, string Stderr, int? ExitCode, int? Signal);

    private static string Normalize(byte[] output, string directory) =>
        Encoding.UTF8.GetString(output).Replace(directory, "<dir>", StringComparison.Ordinal);

    private static async Task<Outcome> RunPlainAsync(string script, string[] args, byte[]? stdin, IReadOnlyDictionary<string, string>? env)
    {
        var directory = Directory.CreateTempSubdirectory("runbox-plain-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(Corpus))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }
            // A Python parent reports a signal death as a negative return code, which tells it apart from exit 255.
            var start = new ProcessStartInfo(Python.Value)
            {
                WorkingDirectory = directory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("import subprocess, sys; r = subprocess.run(sys.argv[1:]); sys.stderr.write('<status %d>' % r.returncode)");
            start.ArgumentList.Add(Python.Value);
            start.ArgumentList.Add(Path.Combine(directory, script));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }
            start.Environment.Clear();
            start.Environment["PATH"] = "/usr/bin:/bin";
            start.Environment["LANG"] = "C.UTF-8";
            start.Environment["LC_ALL"] = "C.UTF-8";
            start.Environment["PYTHONUNBUFFERED"] = "1";
            foreach (var (key, value) in env ?? new Dictionary<string, string>())
            {
                start.Environment[key] = value;
            }
            using var process = Process.Start(start)!;
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin);
            }
            process.StandardInput.Close();
            using var stdout = new MemoryStream();
            using var stderr = new MemoryStream();
            await Task.WhenAll(process.StandardOutput.BaseStream.CopyToAsync(stdout), process.StandardError.BaseStream.CopyToAsync(stderr));
            await process.WaitForExitAsync();
            var errorText = Encoding.UTF8.GetString(stderr.ToArray());
            var marker = errorText.LastIndexOf("<status ", StringComparison.Ordinal);
            var status = int.Parse(errorText[(marker + 8)..errorText.IndexOf('>', marker)], System.Globalization.CultureInfo.InvariantCulture);
            errorText = errorText[..marker];
            return new Outcome(
                Encoding.UTF8.GetString(stdout.ToArray()).Replace(directory, "<dir>", StringComparison.Ordinal),
                errorText.Replace(directory, "<dir>", StringComparison.Ordinal),
                status < 0 ? null : status,
                status < 0 ? -status : null);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record EngineOutcome(JobStatus Status, byte[] Stdout, byte[] Stderr, int? ExitCode, int? Signal, string Directory);

    private async Task<EngineOutcome> RunEngineAsync(string script, string[] args, byte[]? stdin, IReadOnlyDictionary<string, string>? env = null)
    {
        var files = Directory.GetFiles(Corpus).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        var directory = Directory.CreateTempSubdirectory("runbox-engine-").FullName;
        try
        {
            // A given working directory keeps its path known, to normalise tracebacks that name it.
            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
            var result = await fixture.Engine.RunAsync(new JobRequest
            {
                Files = files,
                Entrypoint = script,
                Args = args,
                Stdin = stdin,
                Environment = env ?? new Dictionary<string, string>(),
                WorkingDirectory = directory,
                Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(20) },
            });
            Assert.True(result.Status != JobStatus.Error, result.Error);
            return new EngineOutcome(result.Status, result.Stdout, result.Stderr, result.ExitCode, result.Signal, directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

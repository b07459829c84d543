using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;

namespace Runbox.Server.Tests.Rpc;

/// <summary>Every JSON-RPC method and error code, batches, notifications and SSE, over the server's real Unix socket.</summary>
public sealed class RpcSocketTests(RpcServerFixture rpc) : IClassFixture<RpcServerFixture>
{
    [Fact]
    public async Task Socket_AnswersAsAdminWithoutKey_WithMode0660()
    {
        var health = await rpc.CallAsync("health");
        var discovery = JsonDocument.Parse(await rpc.Socket.GetStringAsync("/discovery")).RootElement;

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal("runbox", discovery.GetProperty("service").GetString());
        Assert.Equal(14, discovery.GetProperty("methods").GetArrayLength());
        Assert.Contains("runtime_test", discovery.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(rpc.SocketPath));
    }

    [Fact]
    public async Task HealthAndDiscovery_GiveTheVersionReadyzGives()
    {
        using var anonymous = rpc.Server.Client(null);
        var ready = await anonymous.GetAsync("/readyz");
        var readyz = (await ready.JsonAsync()).GetProperty("version").GetString();

        var health = await rpc.CallAsync("health");
        var discovery = JsonDocument.Parse(await rpc.Socket.GetStringAsync("/discovery")).RootElement;

        Assert.Equal(readyz, ready.Headers.GetValues("Runbox-Version").Single());
        Assert.Equal(readyz, health.GetProperty("version").GetString());
        Assert.Equal(readyz, discovery.GetProperty("version").GetString());
    }

    [Fact]
    public async Task HttpRpc_NeedsApiKey_AndAdminForRuntimeMethods()
    {
        var (user, _) = await rpc.Server.UserAsync("rpc-user");
        using var anonymous = rpc.Server.Client(null);

        var (status, _) = await rpc.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"health"}""", anonymous);
        var forbidden = await rpc.ErrorAsync("runtime_list", null, user);
        var started = await rpc.ErrorOrResultAsync("session_start", new { script = "print(1)" }, user);
        var file = await rpc.ErrorAsync("session_start", new { script = "/etc/passwd", script_kind = "file" }, user);
        var admin = await rpc.ErrorOrResultAsync("runtime_list", null, rpc.Server.Admin);

        Assert.Equal(401, status);
        Assert.Equal(-32002, forbidden.Code);
        Assert.True(started.TryGetProperty("result", out _));
        Assert.Equal(-32002, file.Code);
        Assert.True(admin.GetProperty("result").GetProperty("runtimes").GetArrayLength() >= 1);
    }

    [Fact]
    public async Task Sessions_RunGetPageLogsListAndDelete_OverTheSocket()
    {
        var started = await rpc.CallAsync("session_start", new
        {
            script = "import os\nprint('one')\nprint(os.environ['GREETING'])\nprint('three')",
            script_kind = "code",
            runtime_name = "default",
            env_vars = new Dictionary<string, string> { ["GREETING"] = "two" },
            timeout_ms = 20000,
        });
        var id = started.GetProperty("session_id").GetString()!;

        var result = await rpc.WaitResultAsync(id);
        var got = await rpc.CallAsync("session_get", new { session_id = id });
        var page1 = await rpc.CallAsync("session_logs", new { session_id = id, after_seq = 0, limit = 2 });
        var page2 = await rpc.CallAsync("session_logs", new { session_id = id, after_seq = page1.GetProperty("next_seq").GetInt64(), limit = 2 });
        var list = await rpc.CallAsync("session_list", new { limit = 200 });

        Assert.Equal("succeeded", result.GetProperty("status").GetString());
        Assert.Equal("one\ntwo\nthree\n", result.GetProperty("stdout").GetString());
        Assert.Equal(20, got.GetProperty("limits").GetProperty("timeout_seconds").GetDouble());
        Assert.Equal(["one", "two"], page1.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("text").GetString()));
        Assert.Equal(2, page1.GetProperty("next_seq").GetInt64());
        Assert.Equal(["three"], page2.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("text").GetString()));
        Assert.True(page2.GetProperty("done").GetBoolean());
        // Listed sessions keep their output (docs/rpc.md: as session_get), where REST's jobs list leaves it out.
        Assert.Equal("one\ntwo\nthree\n", list.GetProperty("sessions").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id).GetProperty("stdout").GetString());

        Assert.True((await rpc.CallAsync("session_delete", new { session_id = id })).GetProperty("deleted").GetBoolean());
        Assert.Equal(-32001, (await rpc.ErrorAsync("session_get", new { session_id = id })).Code);
    }

    [Fact]
    public async Task SessionGetAndResult_HoldTheScript_AsGetJobDoes()
    {
        // rpc.md: a session is the job as GET /api/v1/jobs/{id} answers it, script included, so it can be run again;
        // until 2026-12-04 session_get and session_result had script null, as a listed job has.
        const string script = "print('again')";
        var id = (await rpc.CallAsync("session_start", new { script })).GetProperty("session_id").GetString()!;

        var result = await rpc.WaitResultAsync(id);
        var got = await rpc.CallAsync("session_get", new { session_id = id });
        var rest = JsonDocument.Parse(await rpc.Socket.GetStringAsync($"/api/v1/jobs/{id}")).RootElement;

        Assert.Equal(script, rest.GetProperty("script").GetString());
        Assert.Equal(script, got.GetProperty("script").GetString());
        Assert.Equal(script, result.GetProperty("script").GetString());
        Assert.Equal(JsonValueKind.Array, got.GetProperty("args").ValueKind);
    }

    [Fact]
    public async Task SessionResult_IsNullWhileRunning_UntilStopped()
    {
        var id = (await rpc.CallAsync("session_start", new { script = "import time\nprint('up', flush=True)\ntime.sleep(60)" })).GetProperty("session_id").GetString()!;
        while ((await rpc.CallAsync("session_get", new { session_id = id })).GetProperty("status").GetString() != "running")
        {
            await Task.Delay(50);
        }

        var running = await rpc.CallAsync("session_result", new { session_id = id });
        var stopped = await rpc.CallAsync("session_stop", new { session_id = id });
        var result = await rpc.WaitResultAsync(id);

        Assert.Equal(JsonValueKind.Null, running.ValueKind);
        Assert.Equal(id, stopped.GetProperty("session_id").GetString());
        Assert.Equal("cancelled", result.GetProperty("status").GetString());
    }

    [Fact]
    public async Task SessionStart_RunsHostFileInWorkingDir_WhenScriptKindFile()
    {
        var folder = Directory.CreateTempSubdirectory("runbox-rpc-");
        try
        {
            File.SetUnixFileMode(folder.FullName, (UnixFileMode)0x1ff); // a sandboxed job may run as another uid
            var script = Path.Combine(folder.FullName, "job.py");
            await File.WriteAllTextAsync(script, "import os\nprint(os.getcwd())\nprint(open('input.txt').read())\n");
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "input.txt"), "from the host");
            File.SetUnixFileMode(Path.Combine(folder.FullName, "input.txt"), (UnixFileMode)0x1a4);

            var id = (await rpc.CallAsync("session_start", new { script, script_kind = "file", working_dir = folder.FullName })).GetProperty("session_id").GetString()!;
            var result = await rpc.WaitResultAsync(id);

            Assert.Equal($"{folder.FullName}\nfrom the host\n", result.GetProperty("stdout").GetString());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SessionStart_RefusesAHostFileThatIsNoRegularFile_InsteadOfFailingOrWaitingOnIt()
    {
        var folder = Directory.CreateTempSubdirectory("runbox-rpc-");
        var fifo = Path.Combine(folder.FullName, "job.py");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
        }
        var call = rpc.ErrorAsync("session_start", new { script = fifo, script_kind = "file" });
        try
        {
            // A FIFO nobody writes to held the call until something did; /dev/zero failed as an internal error.
            var fromFifo = await call.WaitAsync(TimeSpan.FromSeconds(30));
            var fromDevice = await rpc.ErrorAsync("session_start", new { script = "/dev/zero", script_kind = "file" });
            var cutByNul = await rpc.ErrorAsync("session_start", new { script = "/etc/hostname\0.py", script_kind = "file" });

            Assert.Equal((-32602, $"script: '{fifo}' is not a regular file (a folder, FIFO, device or socket); script_kind \"file\" reads a script file"), fromFifo);
            Assert.Equal(-32602, fromDevice.Code);
            Assert.Contains("'/dev/zero' is not a regular file", fromDevice.Data);
            Assert.Equal(-32602, cutByNul.Code);
            Assert.Contains("is not an existing file", cutByNul.Data);
        }
        finally
        {
            if (!call.IsCompleted)
            {
                await File.WriteAllTextAsync(fifo, ""); // the server waits on the FIFO: this lets it go
            }
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SessionStart_RefusesAHostFileThatIsNotUtf8_InsteadOfRunningItChanged()
    {
        var folder = Directory.CreateTempSubdirectory("runbox-rpc-");
        try
        {
            // A Latin-1 script: its é (0xE9) became U+FFFD, and the session printed another word than the file says.
            var script = Path.Combine(folder.FullName, "latin1.py");
            await File.WriteAllBytesAsync(script, [.. "# -*- coding: latin-1 -*-\nprint('caf"u8, 0xE9, .. "')\n"u8]);

            var refused = await rpc.ErrorAsync("session_start", new { script, script_kind = "file" });

            Assert.Equal((-32602, $"script: '{script}' is not UTF-8 text; send its text as script (script_kind \"code\") in UTF-8"), refused);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Errors_UseSpecCodes_WhenRequestsAreWrong()
    {
        var parse = await rpc.PostAsync("{\"jsonrpc\":\"2.0\",");
        Assert.Equal(-32700, parse.Body!.Value.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(JsonValueKind.Null, parse.Body.Value.GetProperty("id").ValueKind);

        foreach (var invalid in new[]
        {
            """{"id":1,"method":"health"}""", """{"jsonrpc":"1.0","id":1,"method":"health"}""", """{"jsonrpc":"2.0","id":1,"method":5}""",
            """{"jsonrpc":"2.0","id":{},"method":"health"}""", """{"jsonrpc":"2.0","id":1,"method":"health","params":3}""", "[]", "7",
        })
        {
            var (status, body) = await rpc.PostAsync(invalid);
            Assert.Equal(200, status);
            Assert.Equal(-32600, body!.Value.GetProperty("error").GetProperty("code").GetInt32());
        }

        Assert.Equal(-32601, (await rpc.ErrorAsync("session_fly")).Code);
        var missing = await rpc.ErrorAsync("session_get", new { });
        var unknown = await rpc.ErrorAsync("session_logs", new { session_id = "x", afterseq = 1 });
        var wrongType = await rpc.ErrorAsync("session_logs", new { session_id = "x", limit = "ten" });
        var kind = await rpc.ErrorAsync("session_start", new { script = "1", script_kind = "url" });
        var positional = await rpc.ErrorAsync("session_get", new[] { "x" });
        var positionalHealth = await rpc.ErrorAsync("health", new[] { 1 });
        var noRuntime = await rpc.ErrorAsync("session_start", new { script = "1", runtime_name = "nowhere" });
        var badEnv = await rpc.ErrorAsync("session_start", new { script = "1", env_vars = new Dictionary<string, string> { ["1A"] = "x" } });
        var nulEnv = await rpc.ErrorAsync("session_start", new { script = "1", env_vars = new Dictionary<string, string> { ["A"] = "x\0" } });
        Assert.Equal((-32602, "session_id is required (a non-empty string)"), missing);
        Assert.Equal(-32602, unknown.Code);
        Assert.Contains("afterseq", unknown.Data);
        Assert.Equal(-32602, wrongType.Code);
        Assert.Contains("limit", wrongType.Data);
        Assert.Equal(-32602, kind.Code);
        Assert.Equal((-32602, "params must be an object with named members (session_id), not an array"), positional);
        Assert.Equal((-32602, "this method takes no parameters (got an array of them)"), positionalHealth);
        // Named by the parameters this caller sent (runtime_name, env_vars), not by the REST API's fields.
        Assert.Equal((-32602, "runtime_name: there is no runtime 'nowhere'; create it first (runtime_init)."), noRuntime);
        Assert.Equal((-32602, "env_vars[1A]: the name must be 1-128 of A-Z, a-z, 0-9, '_', not starting with a digit."), badEnv);
        Assert.Equal((-32602, "env_vars.A: must not contain NUL characters."), nulEnv);
        Assert.Equal(-32001, (await rpc.ErrorAsync("session_get", new { session_id = "nope" })).Code);
        Assert.Equal((-32602, "cursor is not one this server gave out"), await rpc.ErrorAsync("session_list", new { cursor = "zzz" }));
    }

    [Fact]
    public async Task EmptyParamsArray_IsNoParameters_AsClientsThatCallByPositionSendIt()
    {
        var health = await rpc.CallAsync("health", Array.Empty<object>());
        var list = await rpc.CallAsync("session_list", Array.Empty<object>());
        var missing = await rpc.ErrorAsync("session_get", Array.Empty<object>());

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Array, list.GetProperty("sessions").ValueKind);
        Assert.Equal((-32602, "session_id is required (a non-empty string)"), missing);
    }

    [Fact]
    public async Task NullParams_AreNoParameters_AsClientsThatAlwaysSendTheMemberSendThem()
    {
        // rpc-websockets, paritytech's Rust client and others send "params": null for a call without arguments.
        var health = await rpc.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"health","params":null}""");
        var list = await rpc.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"session_list","params":null}""");
        var missing = await rpc.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"session_get","params":null}""");

        Assert.Equal("ok", health.Body!.Value.GetProperty("result").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Array, list.Body!.Value.GetProperty("result").GetProperty("sessions").ValueKind);
        Assert.Equal(-32602, missing.Body!.Value.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("session_id is required (a non-empty string)", missing.Body.Value.GetProperty("error").GetProperty("data").GetString());
    }

    [Fact]
    public async Task Batch_AnswersEachCallInOrder_AndNotificationsGetNothing()
    {
        var (status, body) = await rpc.PostAsync("""
            [
              {"jsonrpc":"2.0","id":"a","method":"health"},
              {"jsonrpc":"2.0","method":"health"},
              {"jsonrpc":"2.0","id":2,"method":"nope"},
              1,
              {"jsonrpc":"2.0","method":"nope"}
            ]
            """);
        var onlyNotifications = await rpc.PostAsync("""[{"jsonrpc":"2.0","method":"health"},{"jsonrpc":"2.0","method":"session_fly"}]""");
        var notification = await rpc.PostAsync("""{"jsonrpc":"2.0","method":"health"}""");

        Assert.Equal(200, status);
        var answers = body!.Value.EnumerateArray().ToList();
        Assert.Equal(3, answers.Count);
        Assert.Equal("a", answers[0].GetProperty("id").GetString());
        Assert.Equal("ok", answers[0].GetProperty("result").GetProperty("status").GetString());
        Assert.Equal((2, -32601), (answers[1].GetProperty("id").GetInt32(), answers[1].GetProperty("error").GetProperty("code").GetInt32()));
        Assert.Equal(-32600, answers[2].GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal((204, (JsonElement?)null), onlyNotifications);
        Assert.Equal((204, (JsonElement?)null), notification);
    }

    [Fact]
    public async Task Sse_StreamsSessionAndResumes_OverTheSocket()
    {
        var id = (await rpc.CallAsync("session_start", new { script = "print('a')\nprint('b')\nprint('c')" })).GetProperty("session_id").GetString()!;

        var all = await rpc.Socket.GetStringAsync($"/sse/session/{id}");
        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/sse/session/{id}");
        resume.Headers.Add("Last-Event-ID", "2");
        var rest = await (await rpc.Socket.SendAsync(resume)).Content.ReadAsStringAsync();
        var missing = await rpc.Socket.GetAsync("/sse/session/nope");

        Assert.Contains("event: log\ndata: {\"seq\":1,", all);
        Assert.Contains("id: 3\n", all);
        Assert.Contains("event: result\n", all);
        Assert.DoesNotContain("id: 2\n", rest);
        Assert.Contains("\"text\":\"c\"", rest);
        Assert.Contains("event: result\n", rest);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("There is no session 'nope'", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RuntimeMethods_InitInstallTestAndDelete_OverTheSocket()
    {
        var init = await rpc.CallAsync("runtime_init", new { name = "rpcrt", modules = new[] { "tinypkg" }, preload = new[] { "tinypkg" } });
        var duplicate = await rpc.ErrorAsync("runtime_init", new { name = "rpcrt" });
        var refused = await rpc.ErrorAsync("session_start", new { script = "1", runtime_name = "rpcrt" });
        Assert.Equal("installing", init.GetProperty("state").GetString());
        Assert.Equal(-32003, duplicate.Code);
        Assert.Equal(-32003, refused.Code);
        Assert.Equal("operational", (await WaitSettledAsync("rpcrt")).GetProperty("state").GetString());

        var install = await rpc.CallAsync("runtime_install", new { name = "rpcrt", modules = new[] { "extrapkg" } });
        var settled = await WaitSettledAsync("rpcrt");
        var tested = await rpc.CallAsync("runtime_test", new { name = "rpcrt" });
        var list = await rpc.CallAsync("runtime_list");
        var job = (await rpc.CallAsync("session_start", new { script = "import sys, extrapkg; print('tinypkg' in sys.modules, extrapkg.VALUE)", runtime_name = "rpcrt" }))
            .GetProperty("session_id").GetString()!;
        var ended = await rpc.WaitResultAsync(job);
        var output = ended.GetProperty("stdout").GetString() + ended.GetProperty("stderr").GetString() + ended.GetProperty("error");

        // A working runtime stays operational, taking jobs, while the install runs in a copy of its environment.
        Assert.Equal("operational", install.GetProperty("state").GetString());
        Assert.Equal("installing extrapkg", install.GetProperty("progress").GetString());
        Assert.Contains(settled.GetProperty("packages").EnumerateArray(), p => p.GetProperty("name").GetString() == "extrapkg");
        Assert.Equal("operational", tested.GetProperty("state").GetString());
        Assert.NotEqual(settled.GetProperty("smoke_test_job_id").GetString(), tested.GetProperty("smoke_test_job_id").GetString());
        Assert.Contains(list.GetProperty("runtimes").EnumerateArray(), r => r.GetProperty("name").GetString() == "rpcrt");
        Assert.True(output == "True extra\n", output);

        var unknown = await rpc.ErrorAsync("runtime_install", new { name = "rpcrt", remove_preload = new[] { "nosuch" } });
        await rpc.CallAsync("runtime_install", new { name = "rpcrt", remove_preload = new[] { "tinypkg" } });
        var unloaded = await WaitSettledAsync("rpcrt");
        Assert.Equal(-32602, unknown.Code);
        Assert.Contains("remove_preload: 'nosuch' is not among the preloads of runtime 'rpcrt' (tinypkg)", unknown.Data);
        Assert.Equal("operational", unloaded.GetProperty("state").GetString());
        Assert.Empty(unloaded.GetProperty("preload").EnumerateArray());

        Assert.True((await rpc.CallAsync("runtime_delete", new { name = "rpcrt" })).GetProperty("deleted").GetBoolean());
        Assert.Equal(-32001, (await rpc.ErrorAsync("runtime_get", new { name = "rpcrt" })).Code);
        Assert.Equal(-32602, (await rpc.ErrorAsync("runtime_install", new { name = "default" })).Code);
    }

    private async Task<JsonElement> WaitSettledAsync(string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (true)
        {
            var runtime = await rpc.CallAsync("runtime_get", new { name });
            // Operational with a progress line: still installing into a copy of its environment.
            if (runtime.GetProperty("state").GetString() is "operational" or "failed"
                && (!runtime.TryGetProperty("progress", out var progress) || progress.ValueKind == JsonValueKind.Null))
            {
                return runtime;
            }
            Assert.True(DateTime.UtcNow < deadline, $"runtime {name} did not settle");
            await Task.Delay(200);
        }
    }
}

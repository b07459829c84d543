using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Rpc;

/// <summary>
/// JSON-RPC bodies that are JSON on the surface but cannot be read as meant: each is the spec's parse error (-32700,
/// id null) with data naming where, never a 500, an internal error from inside a method, or a silent guess.
/// </summary>
public sealed class RpcMalformedBodyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
    {
        ["Runbox:NoWorker"] = "true",
        ["Runbox:MaxRequestBodyBytes"] = "65536",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(int Status, JsonElement Body)> PostAsync(HttpContent content)
    {
        var response = await _server.Admin.PostAsync("/rpc", content);
        return ((int)response.StatusCode, await response.JsonAsync());
    }

    private static ByteArrayContent Bytes(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static void AssertParseError(int status, JsonElement body, string data)
    {
        Assert.Equal(200, status);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("id").ValueKind);
        Assert.Equal(-32700, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(data, body.GetProperty("error").GetProperty("data").GetString());
    }

    [Fact]
    public async Task LoneSurrogate_InTheId_IsAParseError_NotA500()
    {
        // The escape is sent as six ASCII characters: a raw lone surrogate cannot even be encoded as UTF-8.
        var (status, body) = await PostAsync(Bytes("""{"jsonrpc":"2.0","id":"\ud800","method":"health"}"""u8.ToArray()));

        AssertParseError(status, body, "id: is invalid text: not UTF-8, or a lone surrogate.");
    }

    [Fact]
    public async Task InvalidText_InParams_IsAParseError_NotAnInternalError()
    {
        var utf8 = Bytes([.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session_get\",\"params\":{\"session_id\":\""u8, 0xFF, .. "\"}}"u8]);
        var surrogate = Bytes("""[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"session_start","params":{"script":"\udc00"}}]"""u8.ToArray());

        var (utf8Status, utf8Body) = await PostAsync(utf8);
        var (surrogateStatus, surrogateBody) = await PostAsync(surrogate);

        AssertParseError(utf8Status, utf8Body, "params.session_id: is invalid text: not UTF-8, or a lone surrogate.");
        AssertParseError(surrogateStatus, surrogateBody, "[1].params.script: is invalid text: not UTF-8, or a lone surrogate.");
    }

    [Fact]
    public async Task MemberGivenTwice_IsAParseError_NotTheLastOneSilently()
    {
        var (status, body) = await PostAsync(Bytes("""{"jsonrpc":"2.0","id":1,"method":"health","method":"session_list"}"""u8.ToArray()));

        AssertParseError(status, body, "method: is given more than once.");
    }

    [Fact]
    public async Task CompressedOrOversizedBody_IsAParseError_NamingWhy()
    {
        var gzipped = Bytes([0x1F, 0x8B, 0x08, 0x00]);
        gzipped.Headers.ContentEncoding.Add("gzip");
        var oversized = new StringContent("[" + string.Join(",", Enumerable.Repeat("""{"jsonrpc":"2.0","id":1,"method":"health"}""", 2000)) + "]",
            Encoding.UTF8, "application/json");

        var (gzipStatus, gzipBody) = await PostAsync(gzipped);
        var (bigStatus, bigBody) = await PostAsync(oversized);

        AssertParseError(gzipStatus, gzipBody, "Content-Encoding: 'gzip' is not supported; send the body uncompressed.");
        AssertParseError(bigStatus, bigBody, "the body is larger than the server accepts (65536 bytes)");
    }

    [Fact]
    public async Task BodyThatIsNotJson_IsAParseError_SayingWhereAndWhat()
    {
        var (strayStatus, strayBody) = await PostAsync(Bytes("""{"jsonrpc":"2.0","id":1,"method":"health"} x"""u8.ToArray()));
        var (deepStatus, deepBody) = await PostAsync(Bytes(Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200))));
        var (emptyStatus, emptyBody) = await PostAsync(Bytes([]));

        AssertParseError(strayStatus, strayBody, "the body is not valid JSON: 'x' is invalid after a single JSON value. Expected end of data. LineNumber: 0 | BytePositionInLine: 43.");
        Assert.Equal(200, deepStatus);
        Assert.Matches("^the body is not valid JSON: .*maximum configured depth of 32", deepBody.GetProperty("error").GetProperty("data").GetString());
        AssertParseError(emptyStatus, emptyBody, "the body is empty; a request object or a batch array is required");
    }
}

using Npgsql;
using Runbox.Server.Http;

namespace Runbox.Server.Tests.Http;

/// <summary>The one classifier REST's problem details and JSON-RPC's errors both answer store failures by.</summary>
public sealed class StoreFaultTests
{
    [Fact]
    public void Classify_NamesTheStoresFaults_WhereverTheyAreWrapped_AndLeavesTheRestToTheServer()
    {
        var nul = new PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", "22021");
        var outage = new NpgsqlException("Exception while reading from stream", new IOException("Connection reset by peer"));

        Assert.Same(StoreFault.NulInText, StoreFault.Classify(nul));
        Assert.Same(StoreFault.NulInText, StoreFault.Classify(new InvalidOperationException("wrapped", nul)));
        Assert.Same(StoreFault.Unavailable, StoreFault.Classify(outage));
        Assert.Same(StoreFault.Unavailable, StoreFault.Classify(new InvalidOperationException("wrapped", outage)));
        Assert.Null(StoreFault.Classify(new PostgresException("syntax error", "ERROR", "ERROR", "42601")));
        Assert.Null(StoreFault.Classify(new InvalidOperationException("a bug")));
    }
}

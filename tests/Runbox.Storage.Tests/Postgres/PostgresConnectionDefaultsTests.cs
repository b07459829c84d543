using Npgsql;
using Runbox.Storage.Postgres;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>The store's connection settings: its defaults where the operator's connection string is silent, the operator's word where it is not.</summary>
public sealed class PostgresConnectionDefaultsTests
{
    [Fact]
    public void Apply_PreparesStatementsAndSkipsTheReset_WhenTheConnectionStringIsSilent()
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply("Host=db;Database=runbox;Username=runbox;Password=secret"));

        Assert.Equal(PostgresConnectionDefaults.MaxAutoPrepare, settings.MaxAutoPrepare);
        Assert.True(settings.NoResetOnClose);
        Assert.Equal("db", settings.Host);
        Assert.Equal("secret", settings.Password);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;maxautoprepare=0;NoResetOnClose=false")]
    public void Apply_KeepsTheOperatorsSettings(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(connectionString));

        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.False(settings.NoResetOnClose);
    }
}

using Runbox.Storage.Tests.Sqlite;

namespace Runbox.Storage.Tests;

/// <summary>The entry point of child processes the tests start; the test runner itself never calls it.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is [CrashingChild.Command, var data, var jobId])
        {
            await CrashingChild.RunAsync(data, jobId);
        }
        await Console.Error.WriteLineAsync($"usage: {CrashingChild.Command} DATA_FOLDER JOB_ID");
        return 2;
    }
}

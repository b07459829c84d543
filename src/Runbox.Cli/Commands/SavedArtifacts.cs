using System.Net;
using Runbox.Cli.Client;
using Runbox.Server.Jobs;

namespace Runbox.Cli.Commands;

/// <summary><c>--save FOLDER</c>: a job's artifacts written into a folder of the user's, their relative paths kept.</summary>
internal static class SavedArtifacts
{
    /// <summary>Downloads each artifact from the server into <paramref name="folder"/> (made if missing), then says so.</summary>
    public static async Task DownloadAsync(RunboxClient api, string jobId, IReadOnlyList<ArtifactResponse> artifacts, string folder, CancellationToken ct)
    {
        // "out/" as much as "out": without its trailing slash, so that root + '/' prefixes every path inside it.
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        Directory.CreateDirectory(root);
        foreach (var artifact in artifacts)
        {
            // The server names artifacts by their path in the job's folder; a name that would climb out of the user's
            // folder (never sent by a Runbox server) is refused rather than written there.
            var target = Path.GetFullPath(Path.Combine(root, artifact.Name));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new RunboxClientException(HttpStatusCode.BadGateway, $"artifact '{artifact.Name}' would be saved outside {root}; not saved");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try
            {
                await using var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None);
                await api.DownloadArtifactAsync(jobId, artifact.Name, file, ct);
            }
            catch
            {
                // No half-written file left to be taken for the artifact.
                File.Delete(target);
                throw;
            }
        }
        await Console.Error.WriteLineAsync(Summary(artifacts.Count, folder));
    }

    /// <summary>
    /// Makes the folder before the job runs, so that a folder that cannot be made stops the command at once rather
    /// than after the job: the message, or null when it is there.
    /// </summary>
    public static string? Prepare(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            // .NET's own words name its parameter: "The value cannot be an empty string. (Parameter 'path')".
            return "--save needs a folder, not an empty name";
        }
        try
        {
            Directory.CreateDirectory(folder);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"cannot save artifacts in {folder}: {e.Message}";
        }
    }

    /// <summary>The line <c>--save</c> ends with, on stderr: how many files went where.</summary>
    public static string Summary(int count, string folder) =>
        $"runbox: {count} artifact{(count == 1 ? "" : "s")} saved in {Path.GetFullPath(folder)}";
}

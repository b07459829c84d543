using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>The folders of environments: removed, retired after a switch, and cleared of leftovers at start.</summary>
public sealed partial class RuntimeManager
{
    private void RemoveVenv(RuntimeRecord runtime)
    {
        if (runtime.VenvPath is { } venv)
        {
            RemoveFolder(venv);
        }
    }

    private void RemoveFolder(string venv)
    {
        // Only a folder Runbox made: never a path a record might point elsewhere.
        if (Path.GetDirectoryName(Path.GetFullPath(venv)) == Path.GetFullPath(RuntimesFolder) && Directory.Exists(venv))
        {
            try
            {
                Directory.Delete(venv, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.VenvNotRemoved(logger, venv, e.Message);
            }
        }
    }

    /// <summary>
    /// Removes an environment the runtime switched away from once no job that started before the switch runs: those
    /// jobs were forked from the old zygote and import from the old folder. A server stopped meanwhile leaves it to
    /// <see cref="RemoveLeftoverFolders"/> at the next start.
    /// </summary>
    private void Retire(string name, string venv, DateTimeOffset switchedAt)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                while (await AnyRunningSinceAsync(name, switchedAt, _stopping.Token))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, _stopping.Token);
                }
                if ((await Runtimes.GetRuntimeAsync(name, _stopping.Token))?.VenvPath != venv)
                {
                    RemoveFolder(venv);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.VenvNotRemoved(logger, venv, e.Message);
            }
        }, CancellationToken.None);
        _background[task] = true;
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task<bool> AnyRunningSinceAsync(string name, DateTimeOffset switchedAt, CancellationToken cancellationToken)
    {
        var running = await store.ListJobsAsync(new JobQuery { Runtime = name, Status = JobStatus.Running, Limit = 200 }, cancellationToken);
        return running.Jobs.Any(j => j.StartedAt is not { } started || started <= switchedAt);
    }

    /// <summary>
    /// At start no zygote runs, so an environment folder no record points at goes: a copy an install was making when
    /// the server stopped, or the folder a runtime switched away from. A worker's own build (its marker file) stays.
    /// </summary>
    private void RemoveLeftoverFolders(IReadOnlyList<RuntimeRecord> runtimes)
    {
        if (!Directory.Exists(RuntimesFolder))
        {
            return;
        }
        foreach (var folder in Directory.EnumerateDirectories(RuntimesFolder))
        {
            var name = VenvCopies.RuntimeOf(folder);
            var owner = runtimes.FirstOrDefault(r => r.Name == name);
            var isCopy = name != Path.GetFileName(folder);
            var inUse = owner?.VenvPath is { } venv && Path.GetFullPath(venv) == Path.GetFullPath(folder);
            // A runtime's first folder is left unless its record has moved on to a copy (a folder of a deleted runtime
            // is the business of whoever creates that name again).
            var movedOn = owner is not null && VenvCopies.IsFolderOf(RuntimesFolder, name, owner.VenvPath);
            if (!inUse && (isCopy || movedOn) && !File.Exists(Path.Combine(folder, Worker.RuntimeSync.MarkerFile)))
            {
                RemoveFolder(folder);
            }
        }
    }

    private static string Last(string text, int chars) => text.Length <= chars ? text : "…" + text[^chars..];
}

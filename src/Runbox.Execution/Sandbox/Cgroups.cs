using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>A file to write in a job's fresh cgroup before its code runs: which parent's folder, which file, what.</summary>
internal sealed record CgroupLimit(int Parent, string File, string Value)
{
    /// <summary>Writes <paramref name="limits"/> as the zygote reads them: an array of [parent, file, value].</summary>
    public static void WriteArray(System.Text.Json.Utf8JsonWriter json, string name, IEnumerable<CgroupLimit> limits)
    {
        json.WriteStartArray(name);
        foreach (var limit in limits)
        {
            json.WriteStartArray();
            json.WriteNumberValue(limit.Parent);
            json.WriteStringValue(limit.File);
            json.WriteStringValue(limit.Value);
            json.WriteEndArray();
        }
        json.WriteEndArray();
    }
}

/// <summary>
/// The engine's cgroups: a <c>runbox-&lt;instance&gt;</c> parent beneath this process's own cgroup in each
/// hierarchy, made at start and removed at dispose. The zygote makes a fresh child per pooled job in each
/// parent (see <see cref="JobCgroup"/>). v2 where its controllers are enabled, otherwise v1.
/// </summary>
internal abstract class Cgroups : IDisposable
{
    public const string Prefix = "runbox-";

    /// <summary>"v1" or "v2".</summary>
    public abstract string Version { get; }

    /// <summary>The parent folders, in the order <see cref="CgroupLimit.Parent"/> indexes them.</summary>
    public abstract IReadOnlyList<string> Parents { get; }

    /// <summary>Whether memory is limited (so the address-space rlimit stand-in can go).</summary>
    public abstract bool LimitsMemory { get; }

    /// <summary>Whether the number of processes is limited.</summary>
    public abstract bool LimitsProcesses { get; }

    /// <summary>The writes that put a job's limits on its fresh cgroup.</summary>
    public abstract IReadOnlyList<CgroupLimit> Limits(JobLimits limits);

    /// <summary>The job cgroup named <paramref name="name"/> in every parent.</summary>
    public abstract JobCgroup Open(string name);

    /// <summary>
    /// Renames an offered standby's cgroup (pool-*) to a job's (job-*) in every parent, as the zygote does when it
    /// dispatches: the name tells which cgroups are jobs'. A rename moves no process. Returns the job's name.
    /// </summary>
    public string Claim(string pooled)
    {
        const string pool = "pool-";
        if (!pooled.StartsWith(pool, StringComparison.Ordinal) || pooled.Contains('/'))
        {
            throw new IOException($"not a pooled cgroup: '{pooled}'");
        }
        var name = "job-" + pooled[pool.Length..];
        for (var i = 0; i < Parents.Count; i++)
        {
            if (Libc.Rename(Path.Combine(Parents[i], pooled), Path.Combine(Parents[i], name)) is { } errno)
            {
                for (var done = 0; done < i; done++)
                {
                    Libc.Rename(Path.Combine(Parents[done], name), Path.Combine(Parents[done], pooled));
                }
                throw new IOException($"cannot rename cgroup {Path.Combine(Parents[i], pooled)}: errno {errno}");
            }
        }
        return name;
    }

    /// <summary>The usable hierarchy, or null with the reasons added to <paramref name="warnings"/>.</summary>
    public static Cgroups? Detect(string instance, List<string> warnings)
    {
        var v2Problems = new List<string>();
        var v2 = CgroupsV2.TryCreate(instance, v2Problems);
        if (v2 is not null)
        {
            return v2;
        }
        var v1Problems = new List<string>();
        var v1 = CgroupsV1.TryCreate(instance, v1Problems);
        if (v1 is not null)
        {
            // The v2 problems only explain why v1 was chosen; the v1 ones are missing controllers.
            warnings.AddRange(v1Problems);
            return v1;
        }
        warnings.Add("no usable cgroups: limits are per process (rlimits) and memory is guessed from the address space; "
            + string.Join("; ", v2Problems.Concat(v1Problems)));
        return null;
    }

    /// <summary>Removes what engines that died left in <paramref name="own"/>: their processes and cgroups.</summary>
    protected static void RemoveLeftovers(string own)
    {
        IEnumerable<string> parents;
        try
        {
            parents = Directory.EnumerateDirectories(own, Prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var parent in parents)
        {
            var pidText = Path.GetFileName(parent)[Prefix.Length..].Split('-')[0];
            if (!int.TryParse(pidText, out var pid) || pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }
            RemoveChildren(parent);
            CgroupFiles.TryRemove(parent);
        }
    }

    /// <summary>
    /// Removes the cgroups of a zygote that stopped: its standbys' (<c>pool-PID-*</c>, as the zygote names them) and
    /// its jobs' (<c>job-PID-*</c>, renamed from those), killing what they still hold. A zygote stops its inits with
    /// SIGKILL, so none removes its standby's cgroup; left to the engine's end, a server whose runtimes are replaced,
    /// installed into or removed now and then kept a few more empty cgroups in every hierarchy each time.
    /// </summary>
    public void RemoveZygoteCgroups(int zygotePid)
    {
        foreach (var parent in Parents)
        {
            List<string> children;
            try
            {
                children = [.. Directory.EnumerateDirectories(parent, $"pool-{zygotePid}-*"), .. Directory.EnumerateDirectories(parent, $"job-{zygotePid}-*")];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var child in children)
            {
                RemoveKilling(child);
            }
        }
    }

    /// <summary>Kills what each child cgroup holds and removes it.</summary>
    protected static void RemoveChildren(string parent)
    {
        foreach (var child in Directory.Exists(parent) ? Directory.EnumerateDirectories(parent).ToList() : [])
        {
            RemoveKilling(child);
        }
    }

    private static void RemoveKilling(string cgroup)
    {
        for (var attempt = 0; attempt < 50 && !CgroupFiles.TryRemove(cgroup); attempt++)
        {
            // A dead engine may have left a cgroup frozen mid-kill: thaw, so the kill can land.
            CgroupFiles.TryWrite(Path.Combine(cgroup, "freezer.state"), "THAWED");
            CgroupFiles.TryWrite(Path.Combine(cgroup, "cgroup.freeze"), "0");
            CgroupFiles.TryWrite(Path.Combine(cgroup, "cgroup.kill"), "1");
            foreach (var process in CgroupFiles.Processes(cgroup))
            {
                Libc.Kill(process, Libc.SIGKILL);
            }
            Thread.Sleep(10);
        }
    }

    public void Dispose()
    {
        foreach (var parent in Parents)
        {
            RemoveChildren(parent);
            CgroupFiles.TryRemove(parent);
        }
    }
}

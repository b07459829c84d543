using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>
/// The engine's cgroups: a <c>runbox-&lt;instance&gt;</c> parent beneath this process's own cgroup with one child
/// per slot, made at start and removed at dispose. v2 where its controllers are enabled, otherwise v1.
/// </summary>
internal abstract class Cgroups : IDisposable
{
    public const string Prefix = "runbox-";

    private readonly CgroupSlot[] _slots;

    protected Cgroups(CgroupSlot[] slots)
    {
        _slots = slots;
    }

    /// <summary>"v1" or "v2".</summary>
    public abstract string Version { get; }

    protected abstract IEnumerable<string> Parents { get; }

    public CgroupSlot Slot(int slot) => _slots[slot];

    /// <summary>The usable hierarchy, or null with the reasons added to <paramref name="warnings"/>.</summary>
    public static Cgroups? Detect(string instance, int slots, List<string> warnings)
    {
        var v2Problems = new List<string>();
        var v2 = CgroupsV2.TryCreate(instance, slots, v2Problems);
        if (v2 is not null)
        {
            return v2;
        }
        var v1Problems = new List<string>();
        var v1 = CgroupsV1.TryCreate(instance, slots, v1Problems);
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
            foreach (var slot in Directory.EnumerateDirectories(parent))
            {
                for (var attempt = 0; attempt < 50 && !CgroupFiles.TryRemove(slot); attempt++)
                {
                    // A dead engine may have left its slot frozen mid-kill: thaw, so the kill can land.
                    CgroupFiles.TryWrite(Path.Combine(slot, "freezer.state"), "THAWED");
                    CgroupFiles.TryWrite(Path.Combine(slot, "cgroup.freeze"), "0");
                    CgroupFiles.TryWrite(Path.Combine(slot, "cgroup.kill"), "1");
                    foreach (var process in CgroupFiles.Processes(slot))
                    {
                        Libc.Kill(process, Libc.SIGKILL);
                    }
                    Thread.Sleep(10);
                }
            }
            CgroupFiles.TryRemove(parent);
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Remove();
        }
        foreach (var parent in Parents)
        {
            CgroupFiles.TryRemove(parent);
        }
    }
}

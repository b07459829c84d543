using System.Globalization;

namespace Runbox.Bench.Soak;

/// <summary>One reading of what a running <c>runbox serve</c> holds, from /proc, its cgroups and its folders.</summary>
internal sealed record ServerSample(
    TimeSpan At,
    long JobsDone,
    double RssMb,
    double? LiveHeapMb,
    double? GcHeapMb,
    double? GcCommittedMb,
    int? Timers,
    int Threads,
    int Fds,
    int Sockets,
    int TcpOnPort,
    int TcpCloseWait,
    int Descendants,
    int Zygotes,
    double ZygoteRssMb,
    int Inits,
    double InitRssMb,
    int JobProcesses,
    int SlotUids,
    int Cgroups,
    int WorkEntries,
    int TmpEntries,
    double DbMb,
    double WalMb,
    int ArtifactFiles,
    double CpuSeconds)
{
    public static string Header =>
        "  time  jobs   rss_mb live_mb  gc_mb gc_com tmrs thr  fds sock tcp cw desc zyg zyg_mb init init_mb jobp uids cgrp work  tmp   db_mb  wal_mb artf  cpu_s";

    private static string Mb(double? value) => value is { } mb ? mb.ToString("F1", CultureInfo.InvariantCulture) : "-";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{At.TotalMinutes,5:F1}m {JobsDone,5} {RssMb,8:F1} {Mb(LiveHeapMb),7} {Mb(GcHeapMb),6} {Mb(GcCommittedMb),6} {(Timers is { } t ? t.ToString(CultureInfo.InvariantCulture) : "-"),4} {Threads,3} {Fds,4} {Sockets,4} {TcpOnPort,3} {TcpCloseWait,2} " +
        $"{Descendants,4} {Zygotes,3} {ZygoteRssMb,6:F1} {Inits,4} {InitRssMb,7:F1} {JobProcesses,4} {SlotUids,4} {Cgroups,4} {WorkEntries,4} {TmpEntries,4} " +
        $"{DbMb,7:F2} {WalMb,7:F2} {ArtifactFiles,4} {CpuSeconds,6:F1}");
}

/// <summary>
/// Reads a <see cref="ServerSample"/> of the server process <c>pid</c>: its own memory, threads and descriptors, the
/// processes beneath it (zygotes, their inits, the standbys and jobs under those), the cgroups its engine made
/// (<c>runbox-PID-*</c> beneath the server's own cgroup in each hierarchy), its work root, its data folder.
/// </summary>
internal sealed class ServerProbe(int pid, int port, string dataFolder, string workRoot)
{
    public ServerSample Read(TimeSpan at, long jobsDone, RuntimeReading runtime)
    {
        var status = Status(pid);
        var fds = Links($"/proc/{pid}/fd");
        var tree = Descendants(pid);
        var zygotes = tree.Where(p => p.Parent == pid && p.CommandLine.Contains("zygote.py", StringComparison.Ordinal)).ToList();
        var inits = tree.Where(p => zygotes.Any(z => z.Pid == p.Parent)).ToList();
        var jobs = tree.Where(p => !zygotes.Contains(p) && !inits.Contains(p) && p.Parent != pid).ToList();
        var (tcp, closeWait) = TcpConnections(port);
        return new ServerSample(
            at, jobsDone,
            Kb(status, "VmRSS") / 1024.0, runtime.LiveHeapMb, runtime.HeapMb, runtime.CommittedMb, runtime.Timers,
            (int)Kb(status, "Threads"),
            fds.Count, fds.Count(l => l.StartsWith("socket:", StringComparison.Ordinal)),
            tcp, closeWait,
            tree.Count,
            zygotes.Count, zygotes.Sum(p => p.RssKb) / 1024.0,
            inits.Count, inits.Sum(p => p.RssKb) / 1024.0,
            jobs.Count,
            tree.Where(p => p.Uid != 0).Select(p => p.Uid).Distinct().Count(),
            EngineCgroups(pid),
            CountEntries(workRoot, depth: 4),
            SafeCount(() => Directory.EnumerateFileSystemEntries("/tmp").Count()),
            FileMb(Path.Combine(dataFolder, "runbox.db")), FileMb(Path.Combine(dataFolder, "runbox.db-wal")),
            SafeCount(() => Directory.Exists(Path.Combine(dataFolder, "artifacts"))
                ? Directory.EnumerateFiles(Path.Combine(dataFolder, "artifacts"), "*", SearchOption.AllDirectories).Count() : 0),
            CpuSeconds(pid));
    }

    /// <summary>Processes of the server's tree: pid, parent, uid, resident KB and command line.</summary>
    internal sealed record ProcessInfo(int Pid, int Parent, int Uid, long RssKb, string CommandLine);

    public static List<ProcessInfo> Descendants(int root)
    {
        var all = new Dictionary<int, ProcessInfo>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var id))
            {
                continue;
            }
            try
            {
                var status = Status(id);
                var uid = int.Parse(status["Uid"].Split('\t', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
                var command = File.ReadAllText($"/proc/{id}/cmdline").Replace('\0', ' ');
                all[id] = new ProcessInfo(id, (int)Kb(status, "PPid"), uid, Kb(status, "VmRSS"), command);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or KeyNotFoundException or FormatException)
            {
                // Gone meanwhile.
            }
        }
        var found = new List<ProcessInfo>();
        var parents = new HashSet<int> { root };
        bool added;
        do
        {
            added = false;
            foreach (var process in all.Values)
            {
                if (parents.Contains(process.Parent) && parents.Add(process.Pid))
                {
                    found.Add(process);
                    added = true;
                }
            }
        }
        while (added);
        return found;
    }

    /// <summary>Cgroup folders beneath the engine's <c>runbox-PID-*</c> parents, in every hierarchy the server is in.</summary>
    public static int EngineCgroups(int serverPid)
    {
        var count = 0;
        foreach (var parent in EngineCgroupParents(serverPid))
        {
            count += SafeCount(() => Directory.EnumerateDirectories(parent, "*", SearchOption.AllDirectories).Count());
        }
        return count;
    }

    public static IEnumerable<string> EngineCgroupParents(int serverPid)
    {
        var mounts = File.ReadLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 3 && f[2] is "cgroup" or "cgroup2")
            .ToList();
        foreach (var line in File.ReadLines($"/proc/{serverPid}/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length < 3)
            {
                continue;
            }
            // v2 ("0::/path") is the cgroup2 mount; a v1 line names its controllers, one of which the mount's options list.
            var mount = parts[1].Length == 0
                ? mounts.FirstOrDefault(f => f[2] == "cgroup2")
                : mounts.FirstOrDefault(f => f[2] == "cgroup" && f[3].Split(',').Contains(parts[1].Split(',')[0]));
            var folder = mount is null ? null : Path.Join(mount[1], parts[2]);
            if (folder is null || !Directory.Exists(folder))
            {
                continue;
            }
            foreach (var parent in Directory.EnumerateDirectories(folder, $"runbox-{serverPid}-*"))
            {
                yield return parent;
            }
        }
    }

    private static (int All, int CloseWait) TcpConnections(int port)
    {
        var all = 0;
        var closeWait = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address is ADDR:PORT in hex; state 0A is LISTEN, 08 CLOSE_WAIT.
                var local = fields[1];
                if (int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port || fields[3] == "0A")
                {
                    continue;
                }
                all++;
                if (fields[3] == "08")
                {
                    closeWait++;
                }
            }
        }
        return (all, closeWait);
    }

    private static Dictionary<string, string> Status(int id) =>
        File.ReadLines($"/proc/{id}/status")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0])
            .ToDictionary(g => g.Key, g => g.First()[1].Trim());

    private static long Kb(Dictionary<string, string> status, string key) =>
        status.TryGetValue(key, out var value) ? long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture) : 0;

    private static List<string> Links(string folder)
    {
        var links = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            try
            {
                links.Add(new FileInfo(entry).LinkTarget ?? "");
            }
            catch (IOException)
            {
            }
        }
        return links;
    }

    private static int CountEntries(string folder, int depth)
    {
        if (depth == 0 || !Directory.Exists(folder))
        {
            return 0;
        }
        return SafeCount(() =>
        {
            var count = 0;
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
            {
                count++;
                if (Directory.Exists(entry) && !File.GetAttributes(entry).HasFlag(FileAttributes.ReparsePoint))
                {
                    count += CountEntries(entry, depth - 1);
                }
            }
            return count;
        });
    }

    private static int SafeCount(Func<int> count)
    {
        try
        {
            return count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private static double FileMb(string path) => File.Exists(path) ? new FileInfo(path).Length / (1024.0 * 1024) : 0;

    private static double CpuSeconds(int id)
    {
        var stat = File.ReadAllText($"/proc/{id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}

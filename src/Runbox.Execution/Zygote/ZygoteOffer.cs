using Runbox.Execution.Native;

namespace Runbox.Execution.Zygote;

/// <summary>
/// A ready init the zygote handed over ahead of any job: the engine sends a job straight to its standby job process,
/// so the zygote is not woken on the job's way in. Holds the init's job socket, the engine's end of the job's status
/// socket, and one job's stdio socket pairs (the engine's ends and the job's, which go with the job).
/// </summary>
internal sealed class ZygoteOffer
{
    private int[]? _descriptors; // job socket, status, then (engine's end, job's end) for stdin, stdout, stderr

    public ZygoteOffer(int reference, int seq, int pid, string? cgroup, bool folder, int[] descriptors)
    {
        if (descriptors.Length != 8)
        {
            throw new ArgumentException($"an offer carries 8 descriptors, not {descriptors.Length}", nameof(descriptors));
        }
        Reference = reference;
        Seq = seq;
        Pid = pid;
        Cgroup = cgroup;
        Folder = folder;
        _descriptors = descriptors;
    }

    /// <summary>The init's number in the zygote's messages.</summary>
    public int Reference { get; }

    /// <summary>Which of its jobs the init is on: a "took" or "drop" for an earlier one is stale.</summary>
    public int Seq { get; }

    /// <summary>The init's host pid.</summary>
    public int Pid { get; }

    /// <summary>The standby's cgroup (pool-*), when cgroups are in use.</summary>
    public string? Cgroup { get; }

    /// <summary>Whether the job's folder goes with it as a detached mount (the init pivoted into its root).</summary>
    public bool Folder { get; }

    /// <summary>
    /// Sends the job's spec to the standby with the job's stdio ends and <paramref name="folder"/> (or -1). Returns
    /// the engine's descriptors (stdin, stdout, stderr, status), now the caller's to close. The offer is spent.
    /// </summary>
    public int[] Send(ReadOnlySpan<byte> spec, int folder)
    {
        var fds = _descriptors ?? throw new InvalidOperationException("the offer was spent");
        _descriptors = null;
        int[] engineEnds = [fds[2], fds[4], fds[6], fds[1]];
        try
        {
            ReadOnlySpan<int> jobEnds = folder >= 0 ? [fds[3], fds[5], fds[7], folder] : [fds[3], fds[5], fds[7]];
            Libc.SendWithDescriptors(fds[0], spec, jobEnds);
        }
        catch
        {
            foreach (var fd in engineEnds)
            {
                Libc.Close(fd);
            }
            throw;
        }
        finally
        {
            foreach (var fd in (ReadOnlySpan<int>)[fds[0], fds[3], fds[5], fds[7]])
            {
                Libc.Close(fd);
            }
        }
        return engineEnds;
    }

    /// <summary>Closes what the offer holds, if it was not spent.</summary>
    public void Close()
    {
        var fds = Interlocked.Exchange(ref _descriptors, null);
        foreach (var fd in fds ?? [])
        {
            Libc.Close(fd);
        }
    }
}

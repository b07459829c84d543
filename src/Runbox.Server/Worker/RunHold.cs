using Runbox.Execution.Engine;

namespace Runbox.Server.Worker;

/// <summary>
/// Whether a run still holds its job. The first write of the run the store refuses (a renewal, a batch of lines, an
/// artifact: its lease was taken over by a rescue, or the job was deleted) stops the job at once, since nothing it does
/// from then on is kept; the runner then says so once.
/// </summary>
internal sealed class RunHold(JobExecution execution)
{
    private int lost;

    public bool IsLost => Volatile.Read(ref lost) == 1;

    public void Lose()
    {
        if (Interlocked.Exchange(ref lost, 1) == 0)
        {
            execution.Cancel();
        }
    }
}

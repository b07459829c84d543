namespace Runbox.Storage.Postgres;

/// <summary>The LISTEN/NOTIFY channels. Notifications are hints: sent inside the writing statement, so they arrive
/// only once the write is visible.</summary>
internal static class NotifyChannels
{
    /// <summary>A job became claimable (inserted, released, re-queued). Empty payload.</summary>
    public const string Work = "runbox_work";

    /// <summary>A job changed (status, log lines, cancel, artifacts). Payload: the job id.</summary>
    public const string Job = "runbox_job";

    public const string NotifyJob = "pg_notify('" + Job + "', id)";

    public const string NotifyWork = "pg_notify('" + Work + "', '')";
}

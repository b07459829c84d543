namespace Runbox.Server.Worker;

/// <summary>
/// A worker node as <c>GET /api/v1/workers</c> shows it. <c>status</c> is <c>alive</c> while heartbeats arrive and
/// <c>stale</c> once none came for a lease (the node died or lost the store; its jobs are rescued).
/// </summary>
public sealed record WorkerResponse(
    string Name,
    string Status,
    int Slots,
    int Busy,
    List<string> Runtimes,
    DateTimeOffset StartedAt,
    DateTimeOffset LastSeenAt);

public sealed record WorkerListResponse(List<WorkerResponse> Workers);

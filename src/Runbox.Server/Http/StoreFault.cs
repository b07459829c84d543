using System.Data.Common;
using Runbox.Server.Rpc;

namespace Runbox.Server.Http;

/// <summary>
/// A store failure that is not a fault of the server, and what it is answered with: REST's status and problem detail,
/// JSON-RPC's error code. One classifier for both, and each kind carries both answers, so a kind added here cannot be
/// answered on one side only. Any other failure is the server's (a 500, or -32603 with a trace id).
/// </summary>
public sealed record StoreFault(int Status, string Title, string Detail, int RpcCode, string RpcMessage, int? RetryAfterSeconds)
{
    /// <summary>character_not_in_repertoire: what PostgreSQL answers a NUL in a text value with.</summary>
    public const string NulInTextState = "22021";

    /// <summary>
    /// The store cannot be reached (a PostgreSQL restart or failover, its connections all taken): 503 with Retry-After,
    /// which clients wait out (the CLI does), instead of a 500 that reads as a bug.
    /// </summary>
    public static readonly StoreFault Unavailable = new(
        StatusCodes.Status503ServiceUnavailable, "Service Unavailable",
        "The job store cannot be reached right now (a database restart or failover); try again in a few seconds.",
        RpcException.Unavailable, "Unavailable", RetryAfterSeconds: 2);

    /// <summary>PostgreSQL's text cannot hold NUL (SQLite's can): a value with one that got past the checks is refused.</summary>
    public static readonly StoreFault NulInText = new(
        StatusCodes.Status400BadRequest, "Invalid request",
        "a value holds a NUL character (\\u0000), which the store cannot keep.",
        RpcException.InvalidParams, "Invalid params", RetryAfterSeconds: null);

    /// <summary>The fault <paramref name="exception"/> (or one it wraps) is, or null when it is the server's own.</summary>
    public static StoreFault? Classify(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DbException { SqlState: NulInTextState }:
                    return NulInText;
                // The driver says which failures may pass.
                case DbException { IsTransient: true }:
                    return Unavailable;
            }
        }
        return null;
    }

    /// <summary>Logs an outage (event 1003) for the operator; a refused value is the caller's to fix and is not logged.</summary>
    public void Log(ILogger logger, string method, string path, Exception exception)
    {
        if (this == Unavailable)
        {
            ServerLog.StoreUnavailable(logger, method, path, exception.Message);
        }
    }
}

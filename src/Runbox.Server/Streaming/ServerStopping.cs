namespace Runbox.Server.Streaming;

/// <summary>
/// Live streams end as soon as the server begins to stop. Kestrel stops before the worker and waits for open requests
/// first, so a stream held open by a running job would hold up the whole stop: the worker's drain began only once
/// the shutdown timeout had passed, and the stop ended in an error. A client reconnects (to another node, or to this
/// one once it is back) and resumes from its last event.
/// </summary>
internal static class ServerStopping
{
    /// <summary>A token cancelled when the request is aborted or the server begins to stop; disposed with the response.</summary>
    public static CancellationToken OrAborted(HttpContext http)
    {
        var lifetime = http.RequestServices.GetRequiredService<IHostApplicationLifetime>();
        var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        http.Response.RegisterForDispose(linked);
        return linked.Token;
    }
}

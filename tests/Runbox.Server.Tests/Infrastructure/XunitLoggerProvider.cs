using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>Server logs into the running test's output; the test in charge is switched as tests of a class run.</summary>
public sealed class XunitLoggerProvider : ILoggerProvider
{
    private volatile ITestOutputHelper? _output;

    public ITestOutputHelper? Output
    {
        get => _output;
        set => _output = value;
    }

    /// <summary>The event ids logged so far, for tests that check what an operator would see.</summary>
    public ConcurrentQueue<EventId> Events { get; } = new();

    /// <summary>The category of each line logged, in order (event ids alone are not unique across Runbox's projects).</summary>
    public ConcurrentQueue<string> Categories { get; } = new();

    public ILogger CreateLogger(string categoryName) => new XunitLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class XunitLogger(XunitLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information || category.StartsWith("Runbox", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            provider.Events.Enqueue(eventId);
            provider.Categories.Enqueue(category);
            if (provider.Output is not { } output)
            {
                return;
            }
            var shortCategory = category[(category.LastIndexOf('.') + 1)..];
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel.ToString()[..4]} {shortCategory}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test already ended; its output is closed.
            }
        }
    }
}

using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>Writes <see cref="ILogger"/> output to the test's own output, which xunit shows when a test fails.</summary>
public sealed class TestLogger(ITestOutputHelper output, string category, LogLevel minimumLevel = LogLevel.Debug) : ILogger
{
    private readonly string _category = category[(category.LastIndexOf('.') + 1)..];

    public static ILoggerFactory CreateFactory(ITestOutputHelper output, LogLevel minimumLevel = LogLevel.Debug) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimumLevel)
            .AddProvider(new TestLoggerProvider(output, minimumLevel)));

    public static ILogger<T> Create<T>(ITestOutputHelper output, LogLevel minimumLevel = LogLevel.Debug) =>
        CreateFactory(output, minimumLevel).CreateLogger<T>();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimumLevel && logLevel != LogLevel.None;

    public void Log<TState>(
        LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} [{logLevel}] {_category}: {formatter(state, exception)}";
        if (exception is not null)
        {
            line += Environment.NewLine + exception;
        }

        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // xunit refuses output once the test has finished, and background work may still be logging.
        }
    }
}

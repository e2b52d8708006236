using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>Creates <see cref="TestLogger"/>s for a <see cref="LoggerFactory"/>.</summary>
public sealed class TestLoggerProvider(ITestOutputHelper output, LogLevel minimumLevel = LogLevel.Debug) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new TestLogger(output, categoryName, minimumLevel);

    public void Dispose()
    {
    }
}

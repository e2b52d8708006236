using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host;

internal static class Logging
{
    /// <summary>Logs go to stderr so that stdout stays clean for data (dev-kafka's bootstrap line, generated events).</summary>
    public static ILoggerFactory Create(IConfiguration? configuration = null, LogLevel minimum = LogLevel.Information) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(minimum);
            if (configuration is not null)
                builder.AddConfiguration(configuration.GetSection("Logging"));
            builder.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
                options.UseUtcTimestamp = true;
            });
            builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        });
}

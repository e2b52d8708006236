namespace EventPipeline.Tests.Infrastructure;

/// <summary>
/// Debian's kcat (built on its own librdkafka 2.0.2): a Kafka client independent of the code under test.
/// </summary>
/// <remarks>
/// Binary values may contain newlines, so count messages with <c>-f '%p:%o\n'</c>, never by lines of <c>%s</c>.
/// </remarks>
public static class Kcat
{
    public const string ExecutablePath = "/usr/bin/kcat";

    public static Task<ProcessResult> RunAsync(
        IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        ExternalProcess.RunAsync(ExecutablePath, arguments, stdin, timeout, ct);
}

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// The <c>dev-kafka</c> command: runs a <see cref="MockKafkaCluster"/> until cancelled, so that other processes
/// (the worker, kcat, a load generator) can share it.
/// </summary>
public static class DevKafkaCommand
{
    /// <summary>Prefix of the first stdout line, which scripts parse to find the brokers.</summary>
    public const string BootstrapLinePrefix = "bootstrap.servers=";

    /// <returns>The process exit code: 0 after a clean shutdown.</returns>
    public static async Task<int> RunAsync(
        int brokers, int partitions, IReadOnlyList<string> topics, TextWriter stdout, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(stdout);

        using var cluster = MockKafkaCluster.Start(brokers);
        foreach (var topic in topics)
        {
            cluster.CreateTopic(topic, partitions);
        }

        // Flushed at once: a parent process waits for this line to learn where to connect.
        await stdout.WriteLineAsync($"{BootstrapLinePrefix}{cluster.BootstrapServers}").ConfigureAwait(false);
        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var topic in topics)
        {
            await stdout.WriteLineAsync($"topic={topic} partitions={partitions}").ConfigureAwait(false);
        }

        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);

        // Cancellation is the normal way to stop, not an error.
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return 0;
    }
}

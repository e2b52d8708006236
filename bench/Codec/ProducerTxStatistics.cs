using System.Diagnostics;
using System.Text.Json;

namespace EventPipeline.Bench.Codec;

/// <summary>
/// What a librdkafka producer reports about the bytes it sent: pass <see cref="OnStatistics"/> to the producer's
/// statistics handler (with <c>statistics.interval.ms</c> set), produce, flush, then <see cref="WaitForFinal"/> before
/// disposing it.
/// </summary>
internal sealed class ProducerTxStatistics(string topic)
{
    private string? _last;
    // batchcnt is a window statistic, reset at every report: sum the windows' message and batch counts.
    private long _batchedMessages;
    private long _batches;

    public void OnStatistics(string json)
    {
        Volatile.Write(ref _last, json);
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.GetProperty("topics").TryGetProperty(topic, out var topicStatistics))
        {
            var window = topicStatistics.GetProperty("batchcnt");
            Interlocked.Add(ref _batchedMessages, window.GetProperty("sum").GetInt64());
            Interlocked.Add(ref _batches, window.GetProperty("cnt").GetInt64());
        }
    }

    /// <summary>
    /// Waits (after the flush) for two more reports, so that the last delivery is counted, and returns librdkafka's
    /// <c>tx_bytes</c> (every byte written to the brokers: produce requests with their framing, plus metadata) and the
    /// mean messages per batch.
    /// </summary>
    public (long TxBytes, double MessagesPerBatch) WaitForFinal()
    {
        var flushed = Volatile.Read(ref _last);
        var wait = Stopwatch.StartNew();
        while ((ReferenceEquals(Volatile.Read(ref _last), flushed) || wait.ElapsedMilliseconds < 250) && wait.ElapsedMilliseconds < 5_000)
            Thread.Sleep(20);
        using var statistics = JsonDocument.Parse(Volatile.Read(ref _last) ?? throw new InvalidOperationException("librdkafka sent no statistics"));
        var batches = Interlocked.Read(ref _batches);
        return (statistics.RootElement.GetProperty("tx_bytes").GetInt64(), batches == 0 ? 0 : (double)Interlocked.Read(ref _batchedMessages) / batches);
    }
}

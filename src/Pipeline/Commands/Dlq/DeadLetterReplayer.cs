using Confluent.Kafka;
using EventPipeline.Stages;

namespace EventPipeline.Host.Commands.Dlq;

/// <summary>
/// Re-produces dead letters' original messages (key, value, original headers, plus pipeline.replayed.from), acks=all
/// and idempotent. At-least-once: <see cref="WaitForDeliveries"/> waits for every delivery report.
/// </summary>
internal sealed class DeadLetterReplayer : IDisposable
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private long _sent, _delivered, _failed;
    private string? _firstError;

    public DeadLetterReplayer(string bootstrapServers, IReadOnlyDictionary<string, string> clientProperties)
    {
        _producer = new ProducerBuilder<byte[]?, byte[]>(ReliableProducerConfig.Create(bootstrapServers, "dlq-replay", clientProperties)).Build();
    }

    public long Sent => Interlocked.Read(ref _sent);
    public long Delivered => Interlocked.Read(ref _delivered);
    public long Failed => Interlocked.Read(ref _failed);
    public string? FirstError => Volatile.Read(ref _firstError);

    public void Replay(DeadLetterRecord record, string topic)
    {
        var message = record.ToReplayMessage();
        while (true)
        {
            try
            {
                _producer.Produce(topic, message, OnDelivered);
                Interlocked.Increment(ref _sent);
                return;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivered(DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.CompareExchange(ref _firstError, $"{report.TopicPartition}: {report.Error.Reason}", null);
            Interlocked.Increment(ref _failed);
        }
        else
            Interlocked.Increment(ref _delivered);
    }

    /// <summary>Waits until every produced message was acknowledged or failed for good (librdkafka's message.timeout.ms).</summary>
    public void WaitForDeliveries(CancellationToken cancellationToken)
    {
        while (_producer.Flush(TimeSpan.FromMilliseconds(500)) > 0)
            cancellationToken.ThrowIfCancellationRequested();
    }

    public void Dispose() => _producer.Dispose();
}

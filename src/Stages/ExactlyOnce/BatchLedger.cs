using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.ExactlyOnce;

public sealed record BatchLedgerOptions
{
    public required string BootstrapServers { get; init; }

    /// <summary>The ledger topic (Delivery:LedgerTopic, default "&lt;Kafka:Topic&gt;.batches").</summary>
    public required string Topic { get; init; }

    public required string SourceTopic { get; init; }

    public IReadOnlyDictionary<string, string> ClientProperties { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Where exactly-once batches are planned before they are inserted: a Kafka topic with one partition per source
/// partition, whose last record for a partition lists the offset ranges formed since its last commit. After a crash
/// or a rebalance the partition's next owner reads that record and forms exactly the same batches again, so
/// ClickHouse's block deduplication drops every block that had already been inserted.
/// </summary>
public sealed class BatchLedger : IDisposable
{
    private readonly BatchLedgerOptions _options;
    private readonly ILogger _logger;
    private readonly IProducer<string, string> _producer;

    public BatchLedger(BatchLedgerOptions options, ILogger<BatchLedger> logger)
    {
        _options = options;
        _logger = logger;
        _producer = new ProducerBuilder<string, string>(ReliableProducerConfig.Create(options.BootstrapServers, "ledger", options.ClientProperties, lingerMs: 0)).Build();
    }

    /// <summary>Fails unless the ledger topic exists with at least as many partitions as the source topic.</summary>
    /// <returns>The source topic's partition count.</returns>
    public int Validate(TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(_producer.Handle).Build();
        var source = admin.GetMetadata(_options.SourceTopic, timeout).Topics.SingleOrDefault();
        var ledger = admin.GetMetadata(_options.Topic, timeout).Topics.SingleOrDefault();
        var sourcePartitions = source?.Partitions.Count ?? 0;
        var ledgerPartitions = ledger is { Error.IsError: false } ? ledger.Partitions.Count : 0;
        if (ledgerPartitions < sourcePartitions)
            throw new InvalidOperationException(
                $"Delivery:LedgerTopic '{_options.Topic}' needs at least {sourcePartitions} partitions (one per partition of '{_options.SourceTopic}'), it has {ledgerPartitions}");
        return sourcePartitions;
    }

    /// <summary>Durably records the outstanding ranges of several partitions before their batches are inserted.</summary>
    public async Task RecordAsync(IReadOnlyList<(int Partition, IReadOnlyList<OffsetRange> Outstanding)> records, CancellationToken cancellationToken)
    {
        var writes = new Task[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var (partition, outstanding) = records[i];
            writes[i] = _producer.ProduceAsync(new TopicPartition(_options.Topic, new Partition(partition)),
                new Message<string, string> { Key = $"{_options.SourceTopic}:{partition}", Value = OffsetRange.Format(outstanding) },
                cancellationToken);
        }
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    /// <summary>The ranges last recorded for each of <paramref name="partitions"/> (empty for a partition never recorded).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> fired before the ledger was read.</exception>
    public Dictionary<int, List<OffsetRange>> ReadLatest(IReadOnlyCollection<int> partitions, TimeSpan timeout, CancellationToken stop = default)
    {
        var result = partitions.ToDictionary(p => p, _ => new List<OffsetRange>());
        var config = new ConsumerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            GroupId = $"ledger-reader-{Guid.NewGuid():N}", // never joins or commits: assign() only
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        };
        foreach (var (key, value) in KafkaSecurityProperties.Select(_options.ClientProperties))
            config.Set(key, value);
        using var consumer = new ConsumerBuilder<string, string>(config).Build();
        var deadline = DateTime.UtcNow + timeout;
        var wanted = new List<TopicPartitionOffset>();
        foreach (var partition in partitions)
        {
            var tp = new TopicPartition(_options.Topic, new Partition(partition));
            var watermarks = KafkaRetry.UntilDeadline(() => consumer.QueryWatermarkOffsets(tp, KafkaRetry.Step(deadline)), deadline, _logger,
                $"watermarks of {tp}", stop);
            if (watermarks.High.Value > watermarks.Low.Value)
                wanted.Add(new TopicPartitionOffset(tp, new Offset(watermarks.High.Value - 1)));
        }
        if (wanted.Count == 0)
            return result;

        consumer.Assign(wanted);
        var missing = wanted.Select(w => w.Partition.Value).ToHashSet();
        while (missing.Count > 0)
        {
            stop.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Reading the batch ledger '{_options.Topic}' timed out for partitions {string.Join(",", missing)}");
            ConsumeResult<string, string>? record;
            try
            {
                record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                // A failed fetch (leader moving, broker restarting) is retried by the client; keep reading until the deadline.
                _logger.LogWarning("Reading the batch ledger: {Reason}; retrying", ex.Error.Reason);
                continue;
            }
            if (record?.Message is null || !missing.Remove(record.Partition.Value))
                continue;
            if (record.Message.Key != $"{_options.SourceTopic}:{record.Partition.Value}")
                throw new InvalidOperationException($"Batch ledger '{_options.Topic}' partition {record.Partition.Value} holds a record of '{record.Message.Key}': one ledger topic per source topic");
            result[record.Partition.Value] = OffsetRange.ParseList(record.Message.Value ?? "");
        }
        _logger.LogInformation("Batch ledger read for {Count} partitions", partitions.Count);
        return result;
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}

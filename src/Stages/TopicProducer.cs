using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Stages;

/// <summary>
/// The last stage of <c>pipeline produce</c>: produces encoded events to the target topic, keyed by app_id, acks=all
/// and idempotent, on the partition its <see cref="ProducerPartitioner"/> chooses (or librdkafka's hash of the key); a message's source is completed (its offset may be committed) only once the broker acknowledged it.
/// A delivery that failed for good is counted and reported to the owner, and its source stays uncommitted.
/// </summary>
public sealed class TopicProducer : IDisposable
{
    /// <summary>The stage label of its metrics: ok counts events the target topic acknowledged, failed those it never will.</summary>
    public const string StageName = "produce";

    private const int MaxInFlight = 50_000; // below librdkafka's 100,000-message queue: Produce never meets a full queue

    private readonly string _topic;
    private readonly Action<Error> _onFailure;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly InFlightLimit _inFlight = new(MaxInFlight);
    private readonly ProducerPartitioner? _partitioner;
    private readonly Prometheus.Counter.Child _acknowledged;
    private readonly Prometheus.Counter.Child _failedCounter;
    private long _coded, _uncoded, _bytesIn, _bytesOut, _failed;

    /// <param name="onFailure">Called for each delivery that failed for good (librdkafka retried it for message.timeout.ms).</param>
    /// <param name="partitioning">How to place messages (the topic must exist: its partition count is read at start); null: librdkafka's hash of the key.</param>
    /// <param name="learnedPolicy">The policy of <see cref="PartitionStrategy.Learned"/>.</param>
    /// <param name="onPartitionerFallback">Called once if the learned policy fails and the partitioner falls back to PKG.</param>
    public TopicProducer(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> clientProperties, int boundedCapacity,
        PipelineMetrics metrics, Action<Error> onFailure, PartitionerOptions? partitioning = null, IFanOutPolicy? learnedPolicy = null,
        Action<Exception>? onPartitionerFallback = null)
    {
        _topic = topic;
        _onFailure = onFailure;
        // Created now, at zero: "nothing produced" must be a series at 0 for the alert, not a missing one.
        _acknowledged = metrics.StageMessages.WithLabels(StageName, "ok");
        _failedCounter = metrics.StageMessages.WithLabels(StageName, "failed");
        _producer = new ProducerBuilder<byte[], byte[]>(CreateConfig(bootstrapServers, clientProperties)).Build();
        if (partitioning is not null)
        {
            PartitionerMetrics? partitionMetrics = null;
            _partitioner = partitioning.Create(TopicPartitionCount.Of(_producer.Handle, topic), learnedPolicy, ex =>
            {
                partitionMetrics?.Fallbacks?.Inc();
                onPartitionerFallback?.Invoke(ex);
            });
            partitionMetrics = new PartitionerMetrics(metrics.Registry, topic, _partitioner);
        }
        Block = new ActionBlock<EncodedMessage>(ProduceAsync, new ExecutionDataflowBlockOptions { BoundedCapacity = boundedCapacity });
        Completion = Block.Completion.ContinueWith(_ => _inFlight.WhenAllExitedAsync(), TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// The producer's settings: acks=all and idempotence, and the producer's zstd unless <paramref name="clientProperties"/>
    /// say otherwise: envelopes from the same users share their ids within a batch, and the worker decodes a zstd topic
    /// at the same CPU per event (perf-data/codec-e2e-latest.json: 60 instead of 87 bytes per event sent).
    /// </summary>
    public static ProducerConfig CreateConfig(string bootstrapServers, IEnumerable<KeyValuePair<string, string>>? clientProperties) =>
        ReliableProducerConfig.Create(bootstrapServers, StageName, clientProperties, tune: config => config.CompressionType = CompressionType.Zstd);

    public ActionBlock<EncodedMessage> Block { get; }

    /// <summary>Completes when the block completed and every message it took was acknowledged or failed for good.</summary>
    public Task Completion { get; }

    public long Coded => Interlocked.Read(ref _coded);
    public long Uncoded => Interlocked.Read(ref _uncoded);

    /// <summary>Input bytes of the events that were acknowledged.</summary>
    public long BytesIn => Interlocked.Read(ref _bytesIn);
    public long BytesOut => Interlocked.Read(ref _bytesOut);

    /// <summary>Deliveries that failed for good.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    private async Task ProduceAsync(EncodedMessage message)
    {
        if (message.Source.Lease.IsRevoked)
            return; // its partition's new owner reads it again
        await _inFlight.EnterAsync().ConfigureAwait(false);
        var key = Encoding.UTF8.GetBytes(message.Source.Event!.AppId);
        var record = new Message<byte[], byte[]>
        {
            Key = key,
            Value = message.Payload,
            // Format-2 envelopes code the event time against this timestamp: the record must carry exactly it.
            Timestamp = new Timestamp(message.RecordTimestampMs, TimestampType.CreateTime),
        };
        if (_partitioner is null)
            _producer.Produce(_topic, record, report => OnDelivered(message, report));
        else
            _producer.Produce(new TopicPartition(_topic, new Partition(_partitioner.Choose(key))), record, report => OnDelivered(message, report));
    }

    private void OnDelivered(EncodedMessage message, DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            // librdkafka already retried for message.timeout.ms; the source offset stays uncommitted (re-read on restart).
            _failedCounter.Inc();
            Interlocked.Increment(ref _failed);
            _onFailure(report.Error);
        }
        else
        {
            Interlocked.Increment(ref message.Coded ? ref _coded : ref _uncoded);
            Interlocked.Add(ref _bytesIn, message.Source.Value.Length);
            Interlocked.Add(ref _bytesOut, message.Payload.Length);
            _acknowledged.Inc();
            message.Source.Complete();
        }
        _inFlight.Exit();
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}

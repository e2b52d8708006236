using EventPipeline.Stages;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Host.Commands;

/// <param name="FromTopic">Null: JSON lines from stdin.</param>
/// <param name="FeaturizerOnly">Mode-0 envelopes: the featurizer without the network (a few bytes more, much less CPU).</param>
/// <param name="KafkaProperties">Kafka:Properties:* from the configuration: all go to the source consumer; the security ones
/// (security.*, sasl.*, ssl.*) also to the two producers.</param>
/// <param name="Partitioning">How envelopes are placed on the target topic's partitions (key = app_id); null: librdkafka's hash.</param>
/// <param name="PartitionerModelPath">ppo: the policy's artifact directory (empty: the shipped one).</param>
/// <param name="SelfContained">A count model writes mode-2 envelopes that carry app_id, instead of taking it from the record key (mode 3).</param>
internal sealed record CodecProduceRequest(string BootstrapServers, string Topic, string ModelDirectory, string? FromTopic, string? Group,
    int MaxBatchSize, int MaxBatchDelayMs, bool FeaturizerOnly = false, IReadOnlyDictionary<string, string>? KafkaProperties = null,
    PartitionerOptions? Partitioning = null, string PartitionerModelPath = "", bool SelfContained = false)
{
    public IReadOnlyDictionary<string, string> ConsumerProperties => KafkaProperties ?? new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> ProducerProperties => KafkaSecurityProperties.Select(ConsumerProperties);
}

/// <param name="BytesIn">Input bytes of the events that were sent (dead-lettered input is not counted).</param>
internal sealed record CodecProduceSummary(long Read, long Coded, long Uncoded, long DeadLettered, long BytesIn, long BytesOut, long NotAcknowledged);

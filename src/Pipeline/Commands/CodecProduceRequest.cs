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
/// <param name="ProduceProperties">Produce:Properties:* from the configuration: librdkafka settings of the producer that writes the
/// envelopes (compression.type, linger.ms, batch.size...), applied after the security ones.</param>
internal sealed record CodecProduceRequest(string BootstrapServers, string Topic, string ModelDirectory, string? FromTopic, string? Group,
    int MaxBatchSize, int MaxBatchDelayMs, bool FeaturizerOnly = false, IReadOnlyDictionary<string, string>? KafkaProperties = null,
    PartitionerOptions? Partitioning = null, string PartitionerModelPath = "", bool SelfContained = false,
    IReadOnlyDictionary<string, string>? ProduceProperties = null)
{
    /// <summary>The settings that would weaken what an acknowledgement means: the envelope producer is acks=all and idempotent, always.</summary>
    public static readonly string[] ReservedProduceProperties = ["acks", "request.required.acks", "enable.idempotence", "enable.gapless.guarantee"];

    public IReadOnlyDictionary<string, string> ConsumerProperties => KafkaProperties ?? new Dictionary<string, string>();

    /// <summary>The source's dead-letter producer: the security part of Kafka:Properties.</summary>
    public IReadOnlyDictionary<string, string> DeadLetterProducerProperties => KafkaSecurityProperties.Select(ConsumerProperties);

    /// <summary>The envelope producer: the security part of Kafka:Properties, then Produce:Properties.</summary>
    public IReadOnlyDictionary<string, string> EnvelopeProducerProperties => KafkaSecurityProperties.SelectWith(ConsumerProperties, ProduceProperties);
}

/// <param name="BytesIn">Input bytes of the events that were sent (dead-lettered input is not counted).</param>
internal sealed record CodecProduceSummary(long Read, long Coded, long Uncoded, long DeadLettered, long BytesIn, long BytesOut, long NotAcknowledged);

using Confluent.Kafka;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ExactlyOnce;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Configuration;

/// <summary>The factories that turn the settings into the stages' options, policies and models.</summary>
public sealed partial class PipelineSettings
{
    /// <summary>The codec models of Codec:Models, or null when none are configured (the codec stage is off).</summary>
    public CodecRegistry? LoadCodecModels()
    {
        if (Codec.ModelDirectories.Count == 0)
            return null;
        if (Codec.TorchThreads > 0)
            Models.TorchRuntime.LimitThreads(Codec.TorchThreads);
        try
        {
            return CodecRegistry.Load(Codec.ModelDirectories);
        }
        catch (CodecModelException ex)
        {
            throw new ConfigurationException($"Codec:Models cannot be loaded: {ex.Message}", ex);
        }
    }

    public CodecDecodeStageOptions ToCodecDecodeOptions() => new()
    {
        BoundedCapacity = Pipeline.QueueChunks,
        MaxBatchSize = Codec.MaxBatchSize,
        MaxBatchDelay = TimeSpan.FromMilliseconds(Codec.MaxBatchDelayMs),
        MaxMessageBytes = Decode.MaxMessageBytes,
    };

    public string LedgerTopic => string.IsNullOrWhiteSpace(Delivery.LedgerTopic) ? $"{Kafka.Topic}.batches" : Delivery.LedgerTopic;

    public BatchLedgerOptions ToLedgerOptions() => new()
    {
        BootstrapServers = Kafka.BootstrapServers,
        Topic = LedgerTopic,
        SourceTopic = Kafka.Topic,
        ClientProperties = MergeProducerProperties(),
    };

    public string DeadLetterTopic => string.IsNullOrWhiteSpace(DeadLetter.Topic) ? $"{Kafka.Topic}.dlq" : DeadLetter.Topic;

    public string ResolvePassword() =>
        string.IsNullOrEmpty(ClickHouse.PasswordFile) ? ClickHouse.Password : File.ReadAllText(ClickHouse.PasswordFile).TrimEnd('\r', '\n');

    public AutoOffsetReset ParseAutoOffsetReset() => Kafka.AutoOffsetReset.ToLowerInvariant() switch
    {
        "earliest" or "smallest" or "beginning" => AutoOffsetReset.Earliest,
        "latest" or "largest" or "end" => AutoOffsetReset.Latest,
        _ => throw new ConfigurationException($"Kafka:AutoOffsetReset '{Kafka.AutoOffsetReset}' must be earliest or latest"),
    };

    public KafkaSourceOptions ToSourceOptions() => new()
    {
        BootstrapServers = Kafka.BootstrapServers,
        Topic = Kafka.Topic,
        GroupId = Kafka.GroupId,
        AutoOffsetReset = ParseAutoOffsetReset(),
        ClientProperties = Kafka.Properties,
        CommitInterval = TimeSpan.FromMilliseconds(Kafka.CommitIntervalMs),
        MaxChunkSize = Pipeline.MaxChunkSize,
    };

    public ClickHouseSinkOptions ToSinkOptions() => new()
    {
        Url = new Uri(ClickHouse.Url),
        Database = ClickHouse.Database,
        Table = ClickHouse.Table,
        Username = ClickHouse.Username,
        Password = ResolvePassword(),
        // Exactly-once always compresses: a body cut short by a dying worker at a row boundary is inserted by the
        // server as if complete (tests/Pipeline.Tests/ClickHouse/TruncatedBodyTests.cs), and that prefix would never
        // deduplicate against the replayed batch; a gzip body without its trailer is refused instead.
        Gzip = ClickHouse.Compression == "gzip" || ExactlyOnce,
        MaxConcurrentInserts = ClickHouse.MaxConcurrentInserts,
        RequestTimeout = TimeSpan.FromSeconds(ClickHouse.RequestTimeoutSeconds),
        Settings = new Dictionary<string, string>(ClickHouse.Settings, StringComparer.Ordinal),
    };

    public BatchStageOptions ToBatchOptions() => new()
    {
        BoundedCapacity = Pipeline.QueueChunks,
        MaxLatency = TimeSpan.FromMilliseconds(Batch.MaxLatencyMs),
        MaxSize = Batch.MaxSize,
        MinInsertInterval = TimeSpan.FromMilliseconds(Batch.MinInsertIntervalMs),
    };

    public IBatchSizePolicy CreateBatchPolicy(PipelineMetrics? metrics = null, ILogger? logger = null) => Batch.Policy switch
    {
        "dqn" => CreateDqnPolicy(metrics, logger),
        "dqn-shadow" => new ShadowBatchSizePolicy(CreateHeuristicPolicy(Batch.ShadowPolicy), CreateDqnPolicy(metrics, logger), logger),
        _ => CreateHeuristicPolicy(Batch.Policy),
    };

    private IBatchSizePolicy CreateHeuristicPolicy(string name) => name switch
    {
        "aimd" => new AimdBatchSizePolicy(Batch.Size, Batch.MinSize, Batch.MaxSize, Batch.AimdStep, TimeSpan.FromMilliseconds(Batch.TargetLatencyMs),
            Batch.AimdRowLatencyTargetMs > 0 ? TimeSpan.FromMilliseconds(Batch.AimdRowLatencyTargetMs) : null),
        "threshold" => new LatencyTargetBatchSizePolicy(Batch.MinSize, Batch.MaxSize, TimeSpan.FromMilliseconds(Batch.TargetLatencyMs)),
        _ => new StaticBatchSizePolicy(Batch.Size),
    };

    private DqnBatchSizePolicy CreateDqnPolicy(PipelineMetrics? metrics, ILogger? logger) => new(new DqnPolicyOptions
    {
        ModelPath = string.IsNullOrWhiteSpace(Batch.ModelPath) ? Path.Combine(AppContext.BaseDirectory, "Artifacts", "batcher") : Batch.ModelPath,
        MinSize = Batch.MinSize,
        MaxSize = Batch.MaxSize,
        FallbackSize = Batch.Size,
    }, metrics, logger);

    public DecodeStageOptions ToDecodeOptions() => new() { BoundedCapacity = Pipeline.QueueChunks, Parallelism = Decode.Parallelism };

    public DeadLetterOptions ToDeadLetterOptions() => new()
    {
        // The dead-letter producer talks to the same cluster with the same security settings unless overridden.
        BootstrapServers = Kafka.BootstrapServers,
        Topic = DeadLetterTopic,
        ClientProperties = MergeProducerProperties(),
        MaxMessageBytes = Decode.MaxMessageBytes,
    };

    /// <param name="deadLetterProperties">In place of DeadLetter:Properties (null: those).</param>
    private Dictionary<string, string> MergeProducerProperties(IReadOnlyDictionary<string, string>? deadLetterProperties = null) =>
        // Only the security part of Kafka:Properties: consumer-only settings would make the producer refuse to start.
        KafkaSecurityProperties.SelectWith(Kafka.Properties, deadLetterProperties ?? DeadLetter.Properties);
}

using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Codec;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Configuration;

/// <summary>Thrown at start for a bad configuration value; the message always names the key.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class KafkaSettings
{
    public string BootstrapServers { get; set; } = "";
    public string Topic { get; set; } = "";
    public string GroupId { get; set; } = "event-pipeline";

    /// <summary>earliest or latest: where a consumer group without committed offsets starts.</summary>
    public string AutoOffsetReset { get; set; } = "earliest";

    public int CommitIntervalMs { get; set; } = 1000;

    /// <summary>Passed to librdkafka as is (security.protocol, sasl.*, ssl.*, fetch tuning...).</summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
}

public sealed class ClickHouseSettings
{
    public string Url { get; set; } = "";
    public string Database { get; set; } = "default";
    public string Table { get; set; } = "events";
    public string Username { get; set; } = "default";
    public string Password { get; set; } = "";

    /// <summary>Read the password from this file instead (a mounted Kubernetes secret, say).</summary>
    public string PasswordFile { get; set; } = "";

    /// <summary>none or gzip.</summary>
    public string Compression { get; set; } = "none";

    public int MaxConcurrentInserts { get; set; } = 2;
    public int RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// ClickHouse settings sent with every INSERT as URL parameters (ClickHouse:Settings:insert_distributed_sync=1
    /// for a Distributed table: see deploy/README.md). Names must match [a-z_]+.
    /// </summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);
}

public sealed class BatchSettings
{
    /// <summary>static (Batch:Size), aimd (grow while inserts stay under Batch:TargetLatencyMs, halve when not),
    /// threshold (fill in Batch:TargetLatencyMs at the current arrival rate), dqn (the trained agent at
    /// Batch:ModelPath; static Batch:Size if the model is unusable) or dqn-shadow (Batch:ShadowPolicy acts, the
    /// agent's choices are only exported).</summary>
    public string Policy { get; set; } = "static";

    /// <summary>Directory of a `pipeline train batcher` artifact; empty = the one shipped next to the executable.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The policy that acts in dqn-shadow mode: static, aimd or threshold.</summary>
    public string ShadowPolicy { get; set; } = "static";

    public int MinSize { get; set; } = 1000;
    public int TargetLatencyMs { get; set; } = 1000;
    public int AimdStep { get; set; } = 5000;

    /// <summary>100,000 beat 50,000 in every repeat of the e2e bench (perf-data/e2e-latest.json).</summary>
    public int Size { get; set; } = 100_000;
    public int MaxLatencyMs { get; set; } = 1000;
    public int MaxSize { get; set; } = 200_000;
}

public sealed class DecodeSettings
{
    public int Parallelism { get; set; } = 2;
    public int MaxMessageBytes { get; set; } = 1_048_576;

    /// <summary>Confluent Protobuf schema ids to accept, comma-separated; empty accepts any. Others are dead-lettered as unknown_schema.</summary>
    public string ProtobufSchemaIds { get; set; } = "";

    /// <exception cref="ConfigurationException">A value is not a non-negative integer; the message names the key.</exception>
    public IReadOnlyList<int> ParseProtobufSchemaIds() =>
        ProtobufSchemaIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ConfigurationException($"Decode:ProtobufSchemaIds: '{id}' is not a schema id (comma-separated non-negative integers, e.g. 1,7)"))
            .Distinct().ToList();
}

public sealed class CodecSettings
{
    /// <summary>
    /// Learned-codec artifact directories, comma-separated (like Kafka:BootstrapServers): every model whose envelopes
    /// this worker may meet, e.g. the old and the new one during a roll-out. Empty turns the codec stage off.
    /// </summary>
    public string Models { get; set; } = "";

    /// <summary>Envelopes decoded in one forward pass, at most.</summary>
    public int MaxBatchSize { get; set; } = 4096;

    /// <summary>How long the first envelope of a batch waits for more.</summary>
    public int MaxBatchDelayMs { get; set; } = 5;

    /// <summary>libtorch threads for the codec's forward passes (0 = libtorch's default, one per core).</summary>
    public int TorchThreads { get; set; } = 1;

    public IReadOnlyList<string> ModelDirectories =>
        Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

public sealed class DeadLetterSettings
{
    /// <summary>Defaults to "&lt;Kafka:Topic&gt;.dlq".</summary>
    public string Topic { get; set; } = "";

    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
}

public sealed class DeliverySettings
{
    /// <summary>AtLeastOnce (default) or ExactlyOnce (needs a table that deduplicates blocks, see README).</summary>
    public string Guarantee { get; set; } = "AtLeastOnce";

    /// <summary>Exactly-once batch ledger; defaults to "&lt;Kafka:Topic&gt;.batches".</summary>
    public string LedgerTopic { get; set; } = "";
}

public sealed class TelemetrySettings
{
    /// <summary>Table for one row per finished insert (deploy/clickhouse/telemetry.sql); empty turns telemetry off.</summary>
    public string Table { get; set; } = "";

    /// <summary>The worker column of telemetry rows; defaults to the host name (the pod name in Kubernetes).</summary>
    public string Worker { get; set; } = "";
}

public sealed class MetricsSettings
{
    /// <summary>Port for /metrics, /healthz and /readyz; 0 turns the endpoint off.</summary>
    public int Port { get; set; } = 9464;

    public string Host { get; set; } = "0.0.0.0";
}

public sealed class PipelineSection
{
    /// <summary>Bounded capacity of each message queue between stages.</summary>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>How long SIGTERM waits for in-flight batches before committing only what is durable.</summary>
    public int DrainTimeoutSeconds { get; set; } = 30;
}

/// <summary>
/// The whole configuration: appsettings.json, then PIPELINE_-prefixed environment variables (__ separates
/// sections), then --Section:Key=value arguments. <see cref="Load"/> validates everything before anything starts.
/// </summary>
public sealed class PipelineSettings
{
    public KafkaSettings Kafka { get; set; } = new();
    public ClickHouseSettings ClickHouse { get; set; } = new();
    public BatchSettings Batch { get; set; } = new();
    public DecodeSettings Decode { get; set; } = new();
    public CodecSettings Codec { get; set; } = new();
    public DeadLetterSettings DeadLetter { get; set; } = new();
    public DeliverySettings Delivery { get; set; } = new();
    public TelemetrySettings Telemetry { get; set; } = new();
    public MetricsSettings Metrics { get; set; } = new();
    public PipelineSection Pipeline { get; set; } = new();

    public static IConfigurationRoot BuildConfiguration(IEnumerable<string> commandLineArgs, string? basePath = null) =>
        new ConfigurationBuilder()
            .SetBasePath(basePath ?? AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables("PIPELINE_")
            .AddCommandLine(commandLineArgs.ToArray())
            .Build();

    /// <summary>Kafka:Properties:* as given (entries without a value, i.e. sections, left out).</summary>
    public static Dictionary<string, string> ReadKafkaProperties(IConfiguration configuration) =>
        configuration.GetSection("Kafka:Properties").GetChildren().Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);

    public static PipelineSettings Load(IConfiguration configuration)
    {
        var settings = new PipelineSettings();
        try
        {
            foreach (var section in configuration.GetChildren())
            {
                if (section.Key is "Logging")
                    continue;
                // The binder's own complaint about an array here would not name the key.
                if (section.Key == "Codec" && section.GetSection("Models").GetChildren().Any())
                    throw new ConfigurationException("Codec:Models must be one comma-separated string of directories, not an array");
                if (section.Key == "Decode" && section.GetSection("ProtobufSchemaIds").GetChildren().Any())
                    throw new ConfigurationException("Decode:ProtobufSchemaIds must be one comma-separated string of schema ids, not an array");
                var property = typeof(PipelineSettings).GetProperty(section.Key)
                    ?? throw new ConfigurationException($"{section.Key}: unknown configuration section (known: Kafka, ClickHouse, Batch, Decode, Codec, DeadLetter, Delivery, Telemetry, Metrics, Pipeline, Logging)");
                section.Bind(property.GetValue(settings), options => options.ErrorOnUnknownConfiguration = true);
            }
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key ("...at 'Batch:Size' to type..." or "'Sise' was not found on type...").
            throw new ConfigurationException($"Invalid configuration: {ex.Message}", ex);
        }
        settings.Validate();
        settings.ValidateClientProperties();
        return settings;
    }

    /// <summary>Longest timeout or interval accepted: long enough for anything sane, short enough never to overflow a timer.</summary>
    public const int MaxSeconds = 86_400;

    /// <summary>
    /// librdkafka refuses unknown or malformed properties only when a client is built, which would be deep inside a
    /// running stage; building (and at once disposing) one client of each kind here names the key at start instead.
    /// </summary>
    public void ValidateClientProperties()
    {
        CheckClientProperties("Kafka:Properties", () =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(ToSourceOptions().BuildConsumerConfig()).Build();
        });
        CheckClientProperties("DeadLetter:Properties", () =>
        {
            using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig(MergeProducerProperties()) { BootstrapServers = Kafka.BootstrapServers }).Build();
        });
    }

    private static void CheckClientProperties(string key, Action build)
    {
        try
        {
            build();
        }
        catch (Exception ex) when (ex is ArgumentException or KafkaException or InvalidOperationException)
        {
            // librdkafka's wording: No such configuration property: "fetch.bogus.bytes"; Invalid value "x" for configuration property "y"
            var match = System.Text.RegularExpressions.Regex.Match(ex.Message, "property:? \"([^\"]+)\"");
            throw new ConfigurationException(match.Success ? $"{key}:{match.Groups[1].Value}: {ex.Message}" : $"{key}: {ex.Message}", ex);
        }
    }

    public void Validate()
    {
        Require(Kafka.BootstrapServers, "Kafka:BootstrapServers");
        Require(Kafka.Topic, "Kafka:Topic");
        Require(Kafka.GroupId, "Kafka:GroupId");
        _ = ParseAutoOffsetReset();
        InRange(Kafka.CommitIntervalMs, 1, MaxSeconds * 1000, "Kafka:CommitIntervalMs");
        Require(ClickHouse.Url, "ClickHouse:Url");
        if (!Uri.TryCreate(ClickHouse.Url, UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
            throw new ConfigurationException($"ClickHouse:Url '{ClickHouse.Url}' must be an absolute http:// or https:// URL");
        if (!string.IsNullOrEmpty(url.UserInfo))
            throw new ConfigurationException("ClickHouse:Url must not carry credentials; use ClickHouse:Username and ClickHouse:Password or ClickHouse:PasswordFile");
        Identifier(ClickHouse.Database, "ClickHouse:Database");
        Identifier(ClickHouse.Table, "ClickHouse:Table");
        if (!string.IsNullOrEmpty(Telemetry.Table))
            Identifier(Telemetry.Table, "Telemetry:Table");
        if (ClickHouse.Compression is not ("none" or "gzip"))
            throw new ConfigurationException($"ClickHouse:Compression '{ClickHouse.Compression}' must be none or gzip");
        if (!string.IsNullOrEmpty(ClickHouse.PasswordFile) && !File.Exists(ClickHouse.PasswordFile))
            throw new ConfigurationException($"ClickHouse:PasswordFile '{ClickHouse.PasswordFile}' does not exist");
        if (!string.IsNullOrEmpty(ClickHouse.PasswordFile) && !string.IsNullOrEmpty(ClickHouse.Password))
            throw new ConfigurationException("ClickHouse:Password and ClickHouse:PasswordFile are both set; keep one");
        InRange(ClickHouse.MaxConcurrentInserts, 1, 64, "ClickHouse:MaxConcurrentInserts");
        foreach (var (name, value) in ClickHouse.Settings)
        {
            if (!ClickHouseHttpClient.IsValidSettingName(name))
                throw new ConfigurationException($"ClickHouse:Settings:{name} is not a ClickHouse setting name ([a-z_]+, and not one of the HTTP interface's own parameters: {string.Join(", ", ClickHouseHttpClient.ReservedParameters)})");
            if (string.IsNullOrEmpty(value))
                throw new ConfigurationException($"ClickHouse:Settings:{name} has no value");
        }
        InRange(ClickHouse.RequestTimeoutSeconds, 1, MaxSeconds, "ClickHouse:RequestTimeoutSeconds");
        if (Batch.Policy is not ("static" or "aimd" or "threshold" or "dqn" or "dqn-shadow"))
            throw new ConfigurationException($"Batch:Policy '{Batch.Policy}' is unknown (known: static, aimd, threshold, dqn, dqn-shadow)");
        if (Batch.ShadowPolicy is not ("static" or "aimd" or "threshold"))
            throw new ConfigurationException($"Batch:ShadowPolicy '{Batch.ShadowPolicy}' is unknown (known: static, aimd, threshold)");
        InRange(Batch.MinSize, 1, Batch.MaxSize, "Batch:MinSize");
        InRange(Batch.TargetLatencyMs, 1, MaxSeconds * 1000, "Batch:TargetLatencyMs");
        InRange(Batch.AimdStep, 1, Batch.MaxSize, "Batch:AimdStep");
        InRange(Batch.MaxSize, 1, 10_000_000, "Batch:MaxSize");
        InRange(Batch.Size, 1, Batch.MaxSize, "Batch:Size");
        InRange(Batch.MaxLatencyMs, 1, MaxSeconds * 1000, "Batch:MaxLatencyMs");
        InRange(Decode.Parallelism, 1, 64, "Decode:Parallelism");
        InRange(Decode.MaxMessageBytes, 64, 64 * 1024 * 1024, "Decode:MaxMessageBytes");
        _ = Decode.ParseProtobufSchemaIds();
        InRange(Codec.TorchThreads, 0, 256, "Codec:TorchThreads");
        InRange(Codec.MaxBatchSize, 1, MicroBatchOptions.MaxBatchSizeLimit, "Codec:MaxBatchSize");
        InRange(Codec.MaxBatchDelayMs, 0, (int)MicroBatchOptions.MaxBatchDelayLimit.TotalMilliseconds, "Codec:MaxBatchDelayMs");
        ValidateCodecModels();
        InRange(Metrics.Port, 0, 65535, "Metrics:Port");
        if (Delivery.Guarantee is not ("AtLeastOnce" or "ExactlyOnce"))
            throw new ConfigurationException($"Delivery:Guarantee '{Delivery.Guarantee}' must be AtLeastOnce or ExactlyOnce");
        InRange(Pipeline.QueueCapacity, 1, 10_000_000, "Pipeline:QueueCapacity");
        InRange(Pipeline.DrainTimeoutSeconds, 1, MaxSeconds, "Pipeline:DrainTimeoutSeconds");
        foreach (var key in Kafka.Properties.Keys)
        {
            if (key is "enable.auto.commit" or "enable.auto.offset.store")
                throw new ConfigurationException($"Kafka:Properties:{key} cannot be set: offsets are committed only after ClickHouse acknowledged the rows");
        }
    }

    public bool ExactlyOnce => Delivery.Guarantee == "ExactlyOnce";

    /// <summary>
    /// Reads each model's metadata (cheap: no weights) so that a wrong directory stops the worker at start, before it
    /// waits for ClickHouse; the weights are loaded by <see cref="LoadCodecModels"/>.
    /// </summary>
    private void ValidateCodecModels()
    {
        var directories = new Dictionary<int, string>();
        foreach (var directory in Codec.ModelDirectories)
        {
            CodecMetadata metadata;
            try
            {
                metadata = CodecArtifact.ReadMetadata(directory);
            }
            catch (CodecModelException ex)
            {
                throw new ConfigurationException($"Codec:Models: '{directory}' cannot be loaded: {ex.Message}", ex);
            }
            if (!directories.TryAdd(metadata.ModelId, directory))
                throw new ConfigurationException($"Codec:Models: '{directory}' and '{directories[metadata.ModelId]}' both hold model id {metadata.ModelId}; keep one");
        }
    }

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
        BoundedCapacity = Pipeline.QueueCapacity,
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
        BoundedCapacity = Pipeline.QueueCapacity,
        MaxLatency = TimeSpan.FromMilliseconds(Batch.MaxLatencyMs),
        MaxSize = Batch.MaxSize,
    };

    public IBatchSizePolicy CreateBatchPolicy(PipelineMetrics? metrics = null, ILogger? logger = null) => Batch.Policy switch
    {
        "dqn" => CreateDqnPolicy(metrics, logger),
        "dqn-shadow" => new ShadowBatchSizePolicy(CreateHeuristicPolicy(Batch.ShadowPolicy), CreateDqnPolicy(metrics, logger), logger),
        _ => CreateHeuristicPolicy(Batch.Policy),
    };

    private IBatchSizePolicy CreateHeuristicPolicy(string name) => name switch
    {
        "aimd" => new AimdBatchSizePolicy(Batch.Size, Batch.MinSize, Batch.MaxSize, Batch.AimdStep, TimeSpan.FromMilliseconds(Batch.TargetLatencyMs)),
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

    public DecodeStageOptions ToDecodeOptions() => new() { BoundedCapacity = Pipeline.QueueCapacity, Parallelism = Decode.Parallelism };

    public DeadLetterOptions ToDeadLetterOptions() => new()
    {
        // The dead-letter producer talks to the same cluster with the same security settings unless overridden.
        BootstrapServers = Kafka.BootstrapServers,
        Topic = DeadLetterTopic,
        ClientProperties = MergeProducerProperties(),
        MaxMessageBytes = Decode.MaxMessageBytes,
    };

    /// <summary>A one-line description for the start-up log: never contains a secret.</summary>
    public string Describe() =>
        $"kafka={Kafka.BootstrapServers} topic={Kafka.Topic} group={Kafka.GroupId} dlq={DeadLetterTopic} " +
        $"clickhouse={new Uri(ClickHouse.Url).GetLeftPart(UriPartial.Path)} table={ClickHouse.Database}.{ClickHouse.Table} user={ClickHouse.Username} " +
        $"delivery={Delivery.Guarantee} batch={Batch.Policy}:{Batch.Size}/{Batch.MaxLatencyMs}ms inserts={ClickHouse.MaxConcurrentInserts} compression={(ExactlyOnce ? "gzip" : ClickHouse.Compression)}" +
        (ClickHouse.Settings.Count == 0 ? "" : $" settings={string.Join(",", ClickHouse.Settings.Select(s => $"{s.Key}={s.Value}"))}") +
        (Codec.ModelDirectories.Count == 0 ? "" : $" codec={string.Join(",", Codec.ModelDirectories)}");

    private Dictionary<string, string> MergeProducerProperties()
    {
        // Consumer-only settings would make the producer refuse to start.
        var merged = KafkaSecurityProperties.Select(Kafka.Properties);
        foreach (var (key, value) in DeadLetter.Properties)
            merged[key] = value;
        return merged;
    }

    private static void Require(string value, string key)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ConfigurationException($"{key} is required");
    }

    private static void Identifier(string value, string key)
    {
        try
        {
            ClickHouseIdentifier.Validate(value, key);
        }
        catch (ArgumentException ex)
        {
            throw new ConfigurationException(ex.Message.Split(" (Parameter")[0], ex);
        }
    }

    private static void InRange(int value, int min, int max, string key)
    {
        if (value < min || value > max)
            throw new ConfigurationException($"{key} must be between {min} and {max} (got {value})");
    }
}

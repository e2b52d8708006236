using Confluent.Kafka;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Codec;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Host.Configuration;

/// <summary>
/// The whole configuration: appsettings.json, then PIPELINE_-prefixed environment variables (__ separates
/// sections), then --Section:Key=value arguments. <see cref="Load"/> validates everything before anything starts.
/// </summary>
public sealed partial class PipelineSettings
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
    public static Dictionary<string, string> ReadKafkaProperties(IConfiguration configuration) => ReadClientProperties(configuration, "Kafka:Properties");

    /// <summary>The librdkafka properties under <paramref name="section"/> as given (entries without a value, i.e. sections, left out).</summary>
    public static Dictionary<string, string> ReadClientProperties(IConfiguration configuration, string section) =>
        configuration.GetSection(section).GetChildren().Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);

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
        CheckClientProperties("Kafka:Properties", Kafka.Properties, properties =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>((ToSourceOptions() with { ClientProperties = properties }).BuildConsumerConfig()).Build();
        });
        CheckClientProperties("DeadLetter:Properties", DeadLetter.Properties, properties =>
        {
            using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig(MergeProducerProperties(properties)) { BootstrapServers = Kafka.BootstrapServers }).Build();
        });
    }

    /// <summary>
    /// Builds a client with <paramref name="configured"/> (the properties of <paramref name="section"/>); librdkafka's
    /// refusal becomes a configuration error naming SECTION:KEY. librdkafka names an alias by its canonical property
    /// (queue.buffering.max.ms for linger.ms): then the key the operator wrote is the one that, set alone, draws the
    /// same complaint.
    /// </summary>
    /// <param name="buildWith">Builds (and disposes) the client with the given properties in place of <paramref name="configured"/>.</param>
    /// <exception cref="ConfigurationException">librdkafka refused a property.</exception>
    internal static void CheckClientProperties(string section, IReadOnlyDictionary<string, string> configured, Action<IReadOnlyDictionary<string, string>> buildWith)
    {
        static bool IsRefusal(Exception ex) => ex is ArgumentException or KafkaException or InvalidOperationException;
        // librdkafka's wording: No such configuration property: "fetch.bogus.bytes"; Invalid value "x" for configuration property "y"
        static string? NamedProperty(Exception ex) =>
            System.Text.RegularExpressions.Regex.Match(ex.Message, "property:? \"([^\"]+)\"") is { Success: true } match ? match.Groups[1].Value : null;
        try
        {
            buildWith(configured);
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            var named = NamedProperty(ex);
            if (named is not null && !configured.ContainsKey(named))
            {
                foreach (var (key, value) in configured)
                {
                    try
                    {
                        buildWith(new Dictionary<string, string>(StringComparer.Ordinal) { [key] = value });
                    }
                    catch (Exception alone) when (IsRefusal(alone) && NamedProperty(alone) == named)
                    {
                        throw new ConfigurationException($"{section}:{key}: {ex.Message}", ex);
                    }
                }
            }
            throw new ConfigurationException(named is not null ? $"{section}:{named}: {ex.Message}" : $"{section}: {ex.Message}", ex);
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
        InRange(Batch.AimdRowLatencyTargetMs, 0, MaxSeconds * 1000, "Batch:AimdRowLatencyTargetMs");
        InRange(Batch.MaxSize, 1, 10_000_000, "Batch:MaxSize");
        InRange(Batch.Size, 1, Batch.MaxSize, "Batch:Size");
        InRange(Batch.MaxLatencyMs, 1, MaxSeconds * 1000, "Batch:MaxLatencyMs");
        InRange(Batch.MinInsertIntervalMs, 0, MaxSeconds * 1000, "Batch:MinInsertIntervalMs");
        if (Batch.MinInsertIntervalMs > 0 && ExactlyOnce)
            throw new ConfigurationException("Batch:MinInsertIntervalMs works with Delivery:Guarantee=AtLeastOnce only: exactly-once batches close on the " +
                "offset ranges they were planned with, which a delayed flush would change; leave it 0");
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
        InRange(Pipeline.MaxChunkSize, 1, 65_536, "Pipeline:MaxChunkSize");
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

    /// <summary>A one-line description for the start-up log: never contains a secret.</summary>
    public string Describe() =>
        $"kafka={Kafka.BootstrapServers} topic={Kafka.Topic} group={Kafka.GroupId} dlq={DeadLetterTopic} " +
        $"clickhouse={new Uri(ClickHouse.Url).GetLeftPart(UriPartial.Path)} table={ClickHouse.Database}.{ClickHouse.Table} user={ClickHouse.Username} " +
        $"delivery={Delivery.Guarantee} batch={Batch.Policy}:{Batch.Size}/{Batch.MaxLatencyMs}ms inserts={ClickHouse.MaxConcurrentInserts} compression={(ExactlyOnce ? "gzip" : ClickHouse.Compression)}" +
        (ClickHouse.Settings.Count == 0 ? "" : $" settings={string.Join(",", ClickHouse.Settings.Select(s => $"{s.Key}={s.Value}"))}") +
        (Codec.ModelDirectories.Count == 0 ? "" : $" codec={string.Join(",", Codec.ModelDirectories)}");

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

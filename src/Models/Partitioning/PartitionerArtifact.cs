using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Models.Partitioning;

/// <summary>The partitioner model cannot be used by this build (missing directory or file, wrong schema...). The message says why.</summary>
public sealed class PartitionerModelException(string message) : Exception(message);

public sealed record PartitionerMetadata
{
    public const int CurrentFormat = 1;
    public int Format { get; init; } = CurrentFormat;
    public string Version { get; init; } = "";
    public string SchemaHash { get; init; } = "";
    public int Slots { get; init; }
    public IReadOnlyList<string> Features { get; init; } = [];
    public IReadOnlyList<int> Actions { get; init; } = [];
    public string RewardVersion { get; init; } = "";
    public FanOutReward Reward { get; init; } = new();
    public PpoOptions Ppo { get; init; } = new();
    public int Seed { get; init; }
    public int Episodes { get; init; }
    public string TrainingCommand { get; init; } = "";
    public string CreatedAt { get; init; } = "";
    public double TrainingSeconds { get; init; }
    public long TrainingSamples { get; init; }
    public IReadOnlyList<PpoUpdateRecord> TrainingCurve { get; init; } = [];
    public int EvaluationSeeds { get; init; }
    public long EvaluationMessages { get; init; }
    public IReadOnlyList<PartitioningEvaluationRow> Evaluation { get; init; } = [];
    public string Verdict { get; init; } = "";
}

/// <summary>A trained fan-out policy on disk: partitioner-ppo.weights (TorchSharp) + partitioner-ppo.json (metadata).</summary>
public static class PartitionerArtifact
{
    public const string WeightsFile = "partitioner-ppo.weights";
    public const string MetadataFile = "partitioner-ppo.json";

    /// <summary>Where the shipped model lies next to the executable (Models.csproj copies Artifacts/).</summary>
    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "Artifacts", "partitioner");

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Save(string directory, FanOutNetwork network, PartitionerMetadata metadata)
    {
        Directory.CreateDirectory(directory);
        network.save(Path.Combine(directory, WeightsFile));
        File.WriteAllText(Path.Combine(directory, MetadataFile), JsonSerializer.Serialize(metadata, Json));
    }

    public static PartitionerMetadata ReadMetadata(string directory)
    {
        if (!Directory.Exists(directory))
            throw new PartitionerModelException($"partitioner model directory '{directory}' does not exist (train one with `pipeline train partitioner --out DIR`)");
        var path = Path.Combine(directory, MetadataFile);
        if (!File.Exists(path))
            throw new PartitionerModelException($"no {MetadataFile} in '{directory}' (train one with `pipeline train partitioner --out DIR`)");
        var metadata = JsonSerializer.Deserialize<PartitionerMetadata>(File.ReadAllText(path), Json)
                       ?? throw new PartitionerModelException($"{path} is empty");
        if (metadata.Format != PartitionerMetadata.CurrentFormat)
            throw new PartitionerModelException($"{path}: artifact format {metadata.Format}, this build reads {PartitionerMetadata.CurrentFormat}");
        if (metadata.SchemaHash != FanOutSchema.Hash)
            throw new PartitionerModelException(
                $"{path}: model {metadata.Version} was trained for schema {metadata.SchemaHash}, this build uses {FanOutSchema.Hash} " +
                $"({FanOutSchema.Slots} slots; features {string.Join(',', FanOutSchema.Features)}; actions {string.Join(',', FanOutSchema.Actions)}; " +
                $"reward {FanOutSchema.RewardVersion}); retrain it with `pipeline train partitioner`");
        return metadata;
    }

    /// <summary>The metadata and the network's weights as plain arrays (<see cref="FanOutNetwork.ExportWeights"/> order).</summary>
    public static (PartitionerMetadata Metadata, float[][] Weights) Load(string directory)
    {
        var metadata = ReadMetadata(directory);
        var weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weights))
            throw new PartitionerModelException($"no {WeightsFile} in '{directory}'");
        using var network = new FanOutNetwork(metadata.Ppo.Hidden);
        try
        {
            network.load(weights);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or NotImplementedException)
        {
            throw new PartitionerModelException($"{weights} does not hold a network of hidden size {metadata.Ppo.Hidden}: {e.Message}");
        }
        return (metadata, network.ExportWeights());
    }
}

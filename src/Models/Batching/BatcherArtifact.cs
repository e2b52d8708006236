using System.Text.Json;

namespace EventPipeline.Models.Batching;

/// <summary>The model cannot be used by this build (wrong schema, missing file...). The message says why.</summary>
public sealed class BatcherModelException(string message) : Exception(message);

public sealed record EpisodeRecord(int Episode, string Profile, double TotalReward, double MeanReward, double Epsilon, double? MeanLoss);

public sealed record EvaluationRow(string Profile, string Policy, double ThroughputRowsPerSecond, double P50Seconds, double P95Seconds,
    double P99Seconds, double InsertsPerSecond, double MeanReward);

public sealed record BatcherMetadata
{
    public const int CurrentFormat = 1;
    public int Format { get; init; } = CurrentFormat;
    public string Version { get; init; } = "";
    public string SchemaHash { get; init; } = "";
    public IReadOnlyList<string> Features { get; init; } = [];
    public IReadOnlyList<int> Actions { get; init; } = [];
    public int Seed { get; init; }
    public int Episodes { get; init; }
    public double EpisodeSeconds { get; init; }
    public string CreatedAt { get; init; } = "";
    public double TrainingSeconds { get; init; }
    public string CalibrationSource { get; init; } = "";
    public InsertCostModel? Calibration { get; init; }
    public RewardOptions Reward { get; init; } = new();
    public DqnOptions Dqn { get; init; } = new();
    public SimulatorOptions Simulator { get; init; } = new();
    public IReadOnlyList<EpisodeRecord> TrainingCurve { get; init; } = [];
    public IReadOnlyList<EvaluationRow> Evaluation { get; init; } = [];
    public string StaticBest { get; init; } = "";
    public string Verdict { get; init; } = "";
}

/// <summary>A trained batcher on disk: batcher-dqn.weights (TorchSharp) + batcher-dqn.json (metadata).</summary>
public sealed class BatcherArtifact
{
    public const string WeightsFile = "batcher-dqn.weights";
    public const string MetadataFile = "batcher-dqn.json";

    private BatcherArtifact(BatcherMetadata metadata, DqnAgent agent)
    {
        Metadata = metadata;
        Agent = agent;
    }

    public BatcherMetadata Metadata { get; }
    public DqnAgent Agent { get; }

    public static void Save(string directory, DqnAgent agent, BatcherMetadata metadata)
    {
        Directory.CreateDirectory(directory);
        agent.Save(Path.Combine(directory, WeightsFile));
        File.WriteAllText(Path.Combine(directory, MetadataFile), JsonSerializer.Serialize(metadata, InsertCostModel.Json));
    }

    public static BatcherMetadata ReadMetadata(string directory)
    {
        var path = Path.Combine(directory, MetadataFile);
        if (!File.Exists(path))
            throw new BatcherModelException($"no {MetadataFile} in '{directory}' (train one with `pipeline train batcher --out DIR`)");
        var metadata = JsonSerializer.Deserialize<BatcherMetadata>(File.ReadAllText(path), InsertCostModel.Json)
                       ?? throw new BatcherModelException($"{path} is empty");
        if (metadata.Format != BatcherMetadata.CurrentFormat)
            throw new BatcherModelException($"{path}: artifact format {metadata.Format}, this build reads {BatcherMetadata.CurrentFormat}");
        if (metadata.SchemaHash != BatcherSchema.Hash)
            throw new BatcherModelException(
                $"{path}: model {metadata.Version} was trained for state/action schema {metadata.SchemaHash}, this build uses {BatcherSchema.Hash} " +
                $"(features {string.Join(',', BatcherSchema.Features)}; actions {string.Join(',', BatcherSchema.Actions)}); retrain it with `pipeline train batcher`");
        return metadata;
    }

    public static BatcherArtifact Load(string directory)
    {
        var metadata = ReadMetadata(directory);
        var weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weights))
            throw new BatcherModelException($"no {WeightsFile} in '{directory}'");
        return new BatcherArtifact(metadata, DqnAgent.Load(weights, metadata.Dqn));
    }
}

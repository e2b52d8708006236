using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace EventPipeline.Models.Codec;

/// <summary>The artifact cannot be used by this build (missing file, other format or feature schema); the message says why.</summary>
public sealed class CodecModelException(string message) : Exception(message);

/// <summary>How well a trained model did on the held-out part of its training data.</summary>
public sealed record CodecEvaluation
{
    public int Events { get; init; }

    /// <summary>Share of events whose field the decoder reproduces from the latent alone (no correction), by field.</summary>
    public IReadOnlyDictionary<string, double> FieldAccuracy { get; init; } = new Dictionary<string, double>();

    public double CorrectionsPerEvent { get; init; }
    public double BytesPerEvent { get; init; }
    public double FeaturizerOnlyBytesPerEvent { get; init; }
    public double CanonicalJsonBytesPerEvent { get; init; }
    public int RoundTripMismatches { get; init; }
}

/// <summary>Everything about a trained codec except its weights: codec.json next to codec.weights.</summary>
public sealed record CodecMetadata
{
    public const int CurrentFormat = 1;

    /// <summary>Artifacts of the entropy-coded codec: count tables in codec.tables.json, no weights.</summary>
    public const int EntropyFormat = 2;

    public const string AutoencoderKind = "autoencoder";
    public const string CountKind = "count";

    public int Format { get; init; } = CurrentFormat;

    /// <summary><see cref="AutoencoderKind"/> (format 1) or <see cref="CountKind"/> (format 2, count tables driving rANS).</summary>
    public string Kind { get; init; } = AutoencoderKind;

    /// <summary>
    /// SHA-256 of what decides how envelopes decode. Format 2 stores it and derives the model id from it; format 1
    /// computes it at load from the weights file.
    /// </summary>
    public string ContentHash { get; init; } = "";

    /// <summary>The id written into every envelope; consumers keep models by it.</summary>
    public int ModelId { get; init; }

    public string Version { get; init; } = "";
    public string SchemaHash { get; init; } = "";
    public string CreatedAt { get; init; } = "";
    public int Seed { get; init; }
    public string TrainingSource { get; init; } = "";
    public int TrainingEvents { get; init; }
    public int Epochs { get; init; }
    public double TrainingSeconds { get; init; }
    public IReadOnlyList<double> LossCurve { get; init; } = [];
    public CodecNetworkOptions Network { get; init; } = new();
    public required FeaturizerVocabularies Vocabularies { get; init; }
    public CodecEvaluation Evaluation { get; init; } = new();
}

/// <summary>
/// Saving and loading a codec: codec.weights (TorchSharp state) + codec.json (metadata, vocabularies, evaluation).
/// A model is only loaded by a build whose feature schema hash matches the one it was trained with.
/// </summary>
public static class CodecArtifact
{
    public const string WeightsFile = "codec.weights";
    public const string MetadataFile = "codec.json";
    public const string TablesFile = "codec.tables.json";

    /// <summary>
    /// The feature schema of the entropy-coded format: what the featurizer emits, the coded quantities and their
    /// order, and the envelope format. Changing any of them makes old artifacts refuse to load.
    /// </summary>
    public static string EntropySchemaHash { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"featurizer-2|fields:{string.Join(',', Enum.GetNames<CodecField>())}|slots:{EventFeaturizer.ValueSlots}|segments:{EventFeaturizer.SideSegments}" +
        $"|quantities:{string.Join(',', Enum.GetNames<CodedQuantity>())}|id-head:{EntropyModel.IdHeadBytes}|scale:{FrequencyTable.ScaleBits}" +
        $"|min-parent:{ContextCounts.MinParentObservations}|rest:verbatim|strings:dotted-decimal|envelope:{Stages.Codec.CodecEnvelope.EntropyFormatVersion}|time:record")))[..16];

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Identifies what a model's inputs and outputs mean: the fields in order, the value slots and the envelope
    /// format. Any change to the featurizer that would make an old model decode wrongly must change it.
    /// </summary>
    public static string SchemaHash { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"featurizer-1|fields:{string.Join(',', Enum.GetNames<CodecField>())}|slots:{EventFeaturizer.ValueSlots}|envelope:{Stages.Codec.CodecEnvelope.FormatVersion}")))[..16];

    internal static void Save(string directory, CodecNetwork network, CodecMetadata metadata)
    {
        Directory.CreateDirectory(directory);
        network.save(Path.Combine(directory, WeightsFile));
        SaveMetadata(directory, metadata);
    }

    internal static void SaveMetadata(string directory, CodecMetadata metadata) =>
        File.WriteAllText(Path.Combine(directory, MetadataFile), JsonSerializer.Serialize(metadata, Json));

    public static CodecMetadata ReadMetadata(string directory)
    {
        var path = Path.Combine(directory, MetadataFile);
        if (!File.Exists(path))
            throw new CodecModelException($"no {MetadataFile} in '{directory}' (train one with `pipeline train codec --out DIR`)");
        CodecMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<CodecMetadata>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new CodecModelException($"{path} is not a codec artifact: {ex.Message}");
        }
        if (metadata is null)
            throw new CodecModelException($"{path} is empty");
        if (metadata.Format is not (CodecMetadata.CurrentFormat or CodecMetadata.EntropyFormat))
            throw new CodecModelException($"{path}: artifact format {metadata.Format}, this build reads {CodecMetadata.CurrentFormat} and {CodecMetadata.EntropyFormat}");
        var schemaHash = metadata.Format == CodecMetadata.EntropyFormat ? EntropySchemaHash : SchemaHash;
        if (metadata.SchemaHash != schemaHash)
            throw new CodecModelException(
                $"{path}: model {metadata.ModelId} ({metadata.Version}) was trained for feature schema {metadata.SchemaHash}, this build uses {schemaHash}; retrain it with `pipeline train codec`");
        if (metadata.ModelId is < 1 or > ushort.MaxValue)
            throw new CodecModelException($"{path}: model id {metadata.ModelId} outside 1..{ushort.MaxValue}");
        return metadata;
    }

    /// <summary>Loads an artifact of either format; fails naming the directory and what is wrong.</summary>
    public static ICodecModel LoadModel(string directory, Device? device = null)
    {
        var metadata = ReadMetadata(directory);
        return metadata.Format == CodecMetadata.EntropyFormat ? LoadEntropy(directory, metadata) : Load(directory, false, device ?? TorchRuntime.Device);
    }

    internal static void SaveEntropy(string directory, CodecMetadata metadata, EntropyTables tables)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, TablesFile), JsonSerializer.Serialize(tables, CompactJson));
        SaveMetadata(directory, metadata);
    }

    private static readonly JsonSerializerOptions CompactJson = new(Json) { WriteIndented = false };

    private static EntropyCodec LoadEntropy(string directory, CodecMetadata metadata)
    {
        var path = Path.Combine(directory, TablesFile);
        if (!File.Exists(path))
            throw new CodecModelException($"no {TablesFile} in '{directory}'");
        EntropyTables? tables;
        try
        {
            tables = JsonSerializer.Deserialize<EntropyTables>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new CodecModelException($"{path} is not a table file: {ex.Message}");
        }
        if (tables is null)
            throw new CodecModelException($"{path} is empty");
        // The id is the content's: an artifact whose tables or vocabularies changed under an old id is refused here,
        // so one id can never mean two models on the wire.
        var hash = EntropyModel.ContentHash(metadata.SchemaHash, metadata.Vocabularies, tables);
        if (hash != metadata.ContentHash || EntropyModel.ModelIdOf(hash) != metadata.ModelId)
            throw new CodecModelException(
                $"{directory}: model id {metadata.ModelId} / content {metadata.ContentHash} do not match its tables and vocabularies (content {hash}, id {EntropyModel.ModelIdOf(hash)}); retrain it with `pipeline train codec` rather than editing it");
        return new EntropyCodec(metadata, tables);
    }

    internal static EventCodec Load(string directory, bool featurizerOnly, Device device)
    {
        var metadata = ReadMetadata(directory);
        if (metadata.Format != CodecMetadata.CurrentFormat)
            throw new CodecModelException($"{directory}: an entropy-coded ({metadata.Kind}) model has no autoencoder or featurizer-only mode");
        if (featurizerOnly)
            return new EventCodec(metadata, null, device);
        var weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weights))
            throw new CodecModelException($"no {WeightsFile} in '{directory}'");
        var network = new CodecNetwork(new EventFeaturizer(metadata.Vocabularies).FieldSizes, metadata.Network);
        try
        {
            network.load(weights);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            network.Dispose();
            throw new CodecModelException($"{weights} does not match {MetadataFile}: {ex.Message}");
        }
        using (var stream = File.OpenRead(weights))
            metadata = metadata with { ContentHash = Convert.ToHexStringLower(SHA256.HashData(stream)) };
        return new EventCodec(metadata, network, device);
    }
}

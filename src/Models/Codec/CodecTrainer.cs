using System.Diagnostics;
using EventPipeline.Stages.Events;
using TorchSharp;
using static TorchSharp.torch;

namespace EventPipeline.Models.Codec;

public sealed record CodecTrainingOptions
{
    public int Seed { get; init; } = 42;
    public int Epochs { get; init; } = 6;
    public int BatchSize { get; init; } = 512;
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>The last share of the events, never trained on, measures the model.</summary>
    public double HoldOutFraction { get; init; } = 0.1;

    public int ModelId { get; init; } = 1;
    public string Version { get; init; } = "";
    public string Source { get; init; } = "";
    public CodecNetworkOptions Network { get; init; } = new();
}

/// <summary>
/// Trains the codec: vocabularies from the training events, then the autoencoder with a fixed seed (same events,
/// same seed, same model on the same machine), then measures it on held-out events: field accuracy from the latent
/// alone, corrections, bytes/event against the featurizer alone, and an exact round trip of every held-out event.
/// </summary>
public static class CodecTrainer
{
    public static CodecMetadata Train(IReadOnlyList<AnalyticsEvent> events, CodecTrainingOptions options, string outputDirectory, Action<string> log)
    {
        if (events.Count < 100)
            throw new ArgumentException($"{events.Count} events are too few to train a codec (at least 100)", nameof(events));
        var clock = Stopwatch.StartNew();
        var (training, heldOut) = HeldOutSplit.Split(events, options.HoldOutFraction);

        var vocabularies = EventFeaturizer.Learn(training);
        var featurizer = new EventFeaturizer(vocabularies);
        log($"vocabularies: {string.Join(", ", Enum.GetValues<CodecField>().Select((f, i) => $"{f} {featurizer.FieldSizes[i]}"))}");
        var (trainingIndices, trainingRows) = Featurize(featurizer, training);

        random.manual_seed(options.Seed);
        var network = new CodecNetwork(featurizer.FieldSizes, options.Network);
        var lossCurve = Fit(network, featurizer.FieldSizes, trainingIndices, trainingRows, options, log);
        var metadata = new CodecMetadata
        {
            ModelId = options.ModelId,
            Version = string.IsNullOrEmpty(options.Version) ? $"codec-{options.ModelId}-{DateTime.UtcNow:yyyyMMddHHmmss}" : options.Version,
            SchemaHash = CodecArtifact.SchemaHash,
            CreatedAt = DateTime.UtcNow.ToString("O"),
            Seed = options.Seed,
            TrainingSource = options.Source,
            TrainingEvents = training.Count,
            Epochs = options.Epochs,
            LossCurve = lossCurve,
            Network = options.Network,
            Vocabularies = vocabularies,
        };

        network.eval();
        var accuracy = FieldAccuracy(network, featurizer, heldOut);
        metadata = metadata with { TrainingSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1) };
        CodecArtifact.Save(outputDirectory, network, metadata);
        network.Dispose();

        using var full = EventCodec.Load(outputDirectory, featurizerOnly: false, device: CPU);
        using var ablation = EventCodec.Load(outputDirectory, featurizerOnly: true, device: CPU);
        // Format 1 ignores record timestamps.
        var timestamps = new long[heldOut.Count];
        var fullRoundTrip = CodecRoundTrip.Measure(full, heldOut, timestamps);
        var ablationRoundTrip = CodecRoundTrip.Measure(ablation, heldOut, timestamps);
        var evaluation = new CodecEvaluation
        {
            Events = heldOut.Count,
            FieldAccuracy = accuracy,
            CorrectionsPerEvent = Math.Round(fullRoundTrip.CorrectionsPerEvent ?? 0, 3),
            BytesPerEvent = Math.Round(fullRoundTrip.BytesPerEvent, 2),
            FeaturizerOnlyBytesPerEvent = Math.Round(ablationRoundTrip.BytesPerEvent, 2),
            CanonicalJsonBytesPerEvent = Math.Round(heldOut.Average(e => (double)EventJsonWriter.Write(e).Length), 2),
            RoundTripMismatches = fullRoundTrip.Mismatches + ablationRoundTrip.Mismatches,
        };
        metadata = metadata with { Evaluation = evaluation };
        CodecArtifact.SaveMetadata(outputDirectory, metadata);
        log($"held-out {heldOut.Count:N0} events: {evaluation.BytesPerEvent:F1} B/event (featurizer alone {evaluation.FeaturizerOnlyBytesPerEvent:F1}, " +
            $"canonical JSON {evaluation.CanonicalJsonBytesPerEvent:F1}), {evaluation.CorrectionsPerEvent:F2} corrections/event, " +
            $"{evaluation.RoundTripMismatches} round-trip mismatches");
        return metadata;
    }

    private static (long[] Indices, int Rows) Featurize(EventFeaturizer featurizer, IReadOnlyList<AnalyticsEvent> events)
    {
        var indices = new int[events.Count * EventFeaturizer.FieldCount];
        var side = new WireWriter(1 << 16);
        var rows = 0;
        foreach (var e in events)
        {
            side.Reset();
            if (featurizer.TryFeaturize(e, indices.AsSpan(rows * EventFeaturizer.FieldCount, EventFeaturizer.FieldCount), side))
                rows++;
        }
        return (Array.ConvertAll(indices[..(rows * EventFeaturizer.FieldCount)], i => (long)i), rows);
    }

    private static List<double> Fit(CodecNetwork network, int[] fieldSizes, long[] indices, int rows, CodecTrainingOptions options, Action<string> log)
    {
        var curve = new List<double>();
        using var data = tensor(indices, [rows, EventFeaturizer.FieldCount]);
        using var optimizer = optim.Adam(network.parameters(), options.LearningRate);
        var shuffle = new Random(options.Seed);
        network.train();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var order = Enumerable.Range(0, rows).Select(i => (long)i).ToArray();
            shuffle.Shuffle(order);
            double total = 0;
            var batches = 0;
            for (var start = 0; start < rows; start += options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var take = Math.Min(options.BatchSize, rows - start);
                var batch = data.index_select(0, tensor(order.AsSpan(start, take).ToArray()));
                var logits = network.forward(batch);
                var loss = zeros(1);
                for (var f = 0; f < fieldSizes.Length; f++)
                    loss += nn.functional.cross_entropy(logits.narrow(1, network.HeadOffsets[f], fieldSizes[f]), batch.select(1, f));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                total += loss.item<float>();
                batches++;
            }
            curve.Add(Math.Round(total / batches, 4));
            log($"epoch {epoch}/{options.Epochs}: loss {total / batches:F4} (sum of per-field cross-entropies)");
        }
        return curve;
    }

    private static Dictionary<string, double> FieldAccuracy(CodecNetwork network, EventFeaturizer featurizer, IReadOnlyList<AnalyticsEvent> events)
    {
        var (indices, rows) = Featurize(featurizer, events);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var truth = tensor(indices, [rows, EventFeaturizer.FieldCount]);
        var logits = network.DecodeCodes(network.EncodeCodes(truth));
        var accuracy = new Dictionary<string, double>();
        foreach (var field in Enum.GetValues<CodecField>())
        {
            var f = (int)field;
            var predicted = logits.narrow(1, network.HeadOffsets[f], featurizer.FieldSizes[f]).argmax(1);
            accuracy[field.ToString()] = Math.Round(predicted.eq(truth.select(1, f)).to(ScalarType.Float32).mean().item<float>(), 4);
        }
        return accuracy;
    }
}

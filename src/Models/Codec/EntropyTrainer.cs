using System.Diagnostics;
using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>
/// Builds the count-based entropy-coded model (format 2): vocabularies and per-context counts from the training
/// events, the model id from the content hash, then an exact round trip of the held-out events.
/// </summary>
public static class EntropyTrainer
{
    /// <summary>
    /// The record timestamps a producer would give <paramref name="events"/> when it sends them as they arrive: its
    /// clock, approximated by the latest event time seen so far (late events are older than it, none is newer). Used
    /// where no real record timestamps exist: training files and the bench.
    /// </summary>
    public static long[] ProducerClock(IReadOnlyList<AnalyticsEvent> events)
    {
        var clock = new long[events.Count];
        var now = long.MinValue;
        for (var i = 0; i < events.Count; i++)
            clock[i] = now = Math.Max(now, events[i].EventTimestampMs);
        return clock;
    }

    public static CodecMetadata Train(IReadOnlyList<AnalyticsEvent> events, double holdOutFraction, string source, string outputDirectory, Action<string> log)
    {
        if (events.Count < 100)
            throw new ArgumentException($"{events.Count} events are too few to train a codec (at least 100)", nameof(events));
        var clock = Stopwatch.StartNew();
        var (training, heldOut) = HeldOutSplit.Split(events, holdOutFraction);

        var vocabularies = EventFeaturizer.Learn(training);
        var tables = Count(vocabularies, training, ProducerClock(training), Math.Max(1, Environment.ProcessorCount));
        var contentHash = EntropyModel.ContentHash(CodecArtifact.EntropySchemaHash, vocabularies, tables);
        var modelId = EntropyModel.ModelIdOf(contentHash);
        var metadata = new CodecMetadata
        {
            Format = CodecMetadata.EntropyFormat,
            Kind = CodecMetadata.CountKind,
            ModelId = modelId,
            ContentHash = contentHash,
            Version = $"codec-count-{modelId}-{contentHash[..8]}",
            SchemaHash = CodecArtifact.EntropySchemaHash,
            CreatedAt = DateTime.UtcNow.ToString("O"),
            TrainingSource = source,
            TrainingEvents = training.Count,
            Vocabularies = vocabularies,
            TrainingSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        CodecArtifact.SaveEntropy(outputDirectory, metadata, tables);
        log($"model {modelId} (content {contentHash[..12]}): {tables.Counts.Values.Sum(c => c.ByParent.Count + 1):N0} frequency tables");

        using var codec = (EntropyCodec)CodecArtifact.LoadModel(outputDirectory);
        var roundTrip = CodecRoundTrip.Measure(codec, heldOut, ProducerClock(heldOut));
        var (bytes, mismatches) = (roundTrip.BytesPerEvent, roundTrip.Mismatches);
        metadata = metadata with
        {
            Evaluation = new CodecEvaluation
            {
                Events = heldOut.Count,
                BytesPerEvent = Math.Round(bytes, 2),
                CanonicalJsonBytesPerEvent = Math.Round(heldOut.Average(e => (double)EventJsonWriter.Write(e).Length), 2),
                RoundTripMismatches = mismatches,
            },
        };
        CodecArtifact.SaveMetadata(outputDirectory, metadata);
        log($"held-out {heldOut.Count:N0} events: {bytes:F1} B/event, {mismatches} round-trip mismatches");
        return metadata;
    }

    /// <summary>
    /// Counts every coded symbol of the featurizable training events under its context, in
    /// <paramref name="parallelism"/> chunks counted side by side and then summed; rare parents pruned. Counts are
    /// integers, so any chunking gives the same tables.
    /// </summary>
    public static EntropyTables Count(FeaturizerVocabularies vocabularies, IReadOnlyList<AnalyticsEvent> events, long[] recordTimestampsMs, int parallelism = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        var chunk = (events.Count + parallelism - 1) / parallelism;
        var parts = new EntropyTables[parallelism];
        Parallel.For(0, parallelism, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, part =>
        {
            var start = Math.Min(events.Count, part * chunk);
            parts[part] = CountRange(vocabularies, events, recordTimestampsMs, start, Math.Min(events.Count, start + chunk));
        });
        var total = parts[0];
        foreach (var part in parts.Skip(1))
        {
            foreach (var (quantity, counts) in part.Counts)
                total.Counts[quantity].AddAll(counts);
        }
        return new EntropyTables
        {
            Counts = new SortedDictionary<CodedQuantity, ContextCounts>(total.Counts.ToDictionary(c => c.Key, c => c.Value.Pruned())),
        };
    }

    private static EntropyTables CountRange(FeaturizerVocabularies vocabularies, IReadOnlyList<AnalyticsEvent> events, long[] recordTimestampsMs, int start, int end)
    {
        var featurizer = new EventFeaturizer(vocabularies, dottedDecimals: true);
        var tables = EntropyModel.EmptyCounts(featurizer.FieldSizes);
        var indices = new int[EventFeaturizer.FieldCount];
        var ends = new int[EventFeaturizer.SideSegments];
        var side = new WireWriter(4096);
        var symbols = new List<EntropyModel.Symbol>();
        for (var i = start; i < end; i++)
        {
            side.Reset();
            if (!featurizer.TryFeaturize(events[i], indices, side, recordTimestampsMs[i], ends))
                continue;
            symbols.Clear();
            EntropyModel.Symbols(indices, side.Written, ends, symbols);
            foreach (var symbol in symbols)
            {
                if (symbol.Quantity is { } quantity)
                    tables.Counts[quantity].Add(symbol.Parent, symbol.Value);
            }
        }
        return tables;
    }
}

using EventPipeline.DevTools.Events;
using EventPipeline.Models.Codec;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.Events;

namespace EventPipeline.Host.Commands;

/// <summary>A trained codec measured for its ml_model_performance rows: on the events its trainer held out, and on a shifted world.</summary>
internal static class CodecPerformance
{
    /// <summary>The seed `bench codec` draws its shifted events from, so the rows and the bench measure the same events.</summary>
    private const int ShiftedSeed = 3;

    /// <summary>
    /// Loads the artifact in <paramref name="directory"/> as a consumer would and round-trips <paramref name="heldOut"/>
    /// and as many <see cref="EventDistribution.Shifted"/> events: apps, months and a country mix no training file of
    /// `pipeline generate` has, so the rows show how the model degrades off its training distribution.
    /// </summary>
    public static List<CodecDatasetEvaluation> Measure(string directory, IReadOnlyList<AnalyticsEvent> heldOut)
    {
        using var codec = CodecArtifact.LoadModel(directory);
        return
        [
            ModelPerformanceReport.MeasureCodec(codec, ModelPerformanceReport.HeldOutEvaluation, heldOut),
            ModelPerformanceReport.MeasureCodec(codec, ModelPerformanceReport.ShiftedEvaluation,
                GeneratedEvents.Decoded(heldOut.Count, ShiftedSeed, EventDistribution.Shifted)),
        ];
    }
}

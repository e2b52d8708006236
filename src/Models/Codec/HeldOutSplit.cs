using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>
/// Which training events a codec trainer keeps back to measure the model: the last share, never trained on. Shared so
/// that whatever measures a trained model again (the performance rows) measures it on the same events.
/// </summary>
public static class HeldOutSplit
{
    public static (List<AnalyticsEvent> Training, List<AnalyticsEvent> HeldOut) Split(IReadOnlyList<AnalyticsEvent> events, double holdOutFraction)
    {
        var holdOut = Math.Max(1, (int)(events.Count * holdOutFraction));
        return ([.. events.Take(events.Count - holdOut)], [.. events.Skip(events.Count - holdOut)]);
    }
}

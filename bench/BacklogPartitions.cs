using EventPipeline.Bench.E2e;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench;

/// <summary>
/// How many partitions a round-robin backlog of generated events needs so that the embedded broker, which trims each
/// partition to ~5 MiB / 100,000 messages, keeps all of it (with 15% to spare; TopicLoader.VerifyComplete checks).
/// </summary>
internal static class BacklogPartitions
{
    private const int MockPartitionMessages = 100_000;

    /// <summary>Bytes the mock counts per message beyond its value (record overhead), as TopicLoader.PeerPartitions assumes.</summary>
    private const int RecordOverheadBytes = 70;

    private static readonly Lazy<double> BytesPerEvent = new(() =>
    {
        const int sample = 20_000;
        var generator = new EventGenerator(TopicLoader.Generator);
        return Enumerable.Range(0, sample).Sum(_ => (double)generator.Next().Payload.Length + RecordOverheadBytes) / sample;
    });

    public static double EventBytes => BytesPerEvent.Value;

    public static int Needed(long events)
    {
        var byBytes = events * BytesPerEvent.Value / (TopicLoader.MockPartitionBytes * 0.85);
        var byCount = events / (MockPartitionMessages * 0.85);
        return (int)Math.Ceiling(Math.Max(byBytes, byCount));
    }
}

using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>Generated events as a model sees them: what `pipeline generate` writes, decoded as the pipeline decodes it.</summary>
public static class GeneratedEvents
{
    /// <summary>
    /// <paramref name="count"/> events of <paramref name="distribution"/>. Another seed than a model's training events
    /// gives other users and devices of the same world; <see cref="EventDistribution.Shifted"/> another world.
    /// </summary>
    public static List<AnalyticsEvent> Decoded(int count, int seed, EventDistribution distribution)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = seed, Distribution = distribution });
        var decoder = new EventDecoder(new EventDecoderOptions());
        return [.. Enumerable.Range(0, count).Select(_ => decoder.Decode(generator.Next().Payload).Event!)];
    }
}

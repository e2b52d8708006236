using Prometheus;

namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// What a producer's partitioner exports, sampled at each scrape: messages placed per partition, how unevenly its recent
/// load is spread (Gini, hottest over mean), and for fan-out strategies their decisions and fallbacks. A consumer group
/// shares partitions by count, not by load, so a high Gini here becomes one worker's lag there.
/// </summary>
public sealed class PartitionerMetrics
{
    private readonly ProducerPartitioner _partitioner;
    private readonly Counter.Child[] _sent;
    private readonly Gauge.Child _gini;
    private readonly Gauge.Child _hottestOverMean;
    private readonly Counter.Child? _decisions;

    public PartitionerMetrics(CollectorRegistry registry, string topic, ProducerPartitioner partitioner)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _partitioner = partitioner ?? throw new ArgumentNullException(nameof(partitioner));
        var factory = Metrics.WithCustomRegistry(registry);
        var sent = factory.CreateCounter("pipeline_producer_partition_messages_total",
            "Messages this producer placed on each partition of the topic it produces to.", new CounterConfiguration { LabelNames = ["topic", "partition"] });
        _sent = Enumerable.Range(0, partitioner.PartitionCount).Select(p => sent.WithLabels(topic, p.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        _gini = factory.CreateGauge("pipeline_producer_partition_load_gini",
            "Gini coefficient of this producer's recent per-partition load (0 = even, toward 1 = all on one partition).",
            new GaugeConfiguration { LabelNames = ["topic"] }).WithLabels(topic);
        _hottestOverMean = factory.CreateGauge("pipeline_producer_partition_load_hottest_over_mean",
            "This producer's recent load on its hottest partition over the mean partition load (1 = even).",
            new GaugeConfiguration { LabelNames = ["topic"] }).WithLabels(topic);
        factory.CreateGauge("pipeline_producer_partitioner_info", "The partitioning strategy in use (value 1).",
            new GaugeConfiguration { LabelNames = ["topic", "strategy", "mode"] })
            .WithLabels(topic, PartitionStrategyNames.NameOf(partitioner.Strategy), partitioner is FanOutPartitioner { Shadow: true } ? "shadow" : "active").Set(1);
        if (partitioner is FanOutPartitioner fanOut)
        {
            _decisions = factory.CreateCounter("pipeline_producer_partitioner_decisions_total",
                "Fan-out decisions of the partitioner's policy (heavy keys re-spread every Partitioning decision interval).",
                new CounterConfiguration { LabelNames = ["topic", "policy"] }).WithLabels(topic, fanOut.PolicyName);
            Fallbacks = factory.CreateCounter("pipeline_producer_partitioner_fallbacks_total",
                "Times the partitioner's policy failed and it fell back to Partial Key Grouping for good.",
                new CounterConfiguration { LabelNames = ["topic"] }).WithLabels(topic);
            HeavyKeyFanOut = factory.CreateGauge("pipeline_producer_partitioner_heavy_key_fan_out",
                "Partitions the policy gave each of the heaviest keys at its last decision, by rank (0 = heaviest); in shadow mode what it would give.",
                new GaugeConfiguration { LabelNames = ["topic", "rank"] });
        }
        registry.AddBeforeCollectCallback(() => Sample(topic));
    }

    /// <summary>Incremented by the owner's fallback callback; null for strategies without a policy.</summary>
    public Counter.Child? Fallbacks { get; }

    private Gauge? HeavyKeyFanOut { get; }

    private void Sample(string topic)
    {
        var sent = _partitioner.Sent;
        for (int p = 0; p < _sent.Length; p++)
            _sent[p].IncTo(sent[p]);
        var loads = _partitioner.Load.Loads.ToArray(); // a copy: the producing thread keeps changing them
        _gini.Set(LoadBalance.Gini(loads));
        _hottestOverMean.Set(LoadBalance.HottestOverMean(loads));
        if (_partitioner is FanOutPartitioner fanOut && _decisions is not null)
        {
            _decisions.IncTo(fanOut.Decisions);
            var last = fanOut.LastDecision;
            for (int rank = 0; rank < last.Count; rank++)
                HeavyKeyFanOut!.WithLabels(topic, rank.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(last[rank].Decided);
        }
    }
}

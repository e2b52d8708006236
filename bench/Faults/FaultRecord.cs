namespace EventPipeline.Bench.Faults;

/// <summary>
/// One injected fault. Times are seconds on the run's clock (0 = first worker start). Recovery is measured from
/// the restart (a worker kill) or the fault's end (ClickHouse back up, broker back up) until count() grew again;
/// downtime from the fault itself until then.
/// </summary>
internal sealed record FaultRecord(int Number, string Kind, double AtSeconds, long RowsAtFault)
{
    public double? EndedAtSeconds { get; set; }
    public double? RecoveredAtSeconds { get; set; }
    public long? RowsAtRecovery { get; set; }

    public double? RecoverySeconds => RecoveredAtSeconds - EndedAtSeconds is { } s ? Math.Round(s, 3) : null;
    public double? DowntimeSeconds => RecoveredAtSeconds - AtSeconds is { } s ? Math.Round(s, 3) : null;
    public string? Note { get; set; }
}

/// <summary>Everything one guarantee's run measured; Failure is set when it did not finish.</summary>
internal sealed class GuaranteeResult
{
    public required string Guarantee { get; init; }
    public required string Table { get; init; }
    public required string TableEngine { get; init; }
    public required string Topic { get; init; }
    public long Produced { get; set; }
    public long Good { get; set; }
    public long Malformed { get; set; }
    public long Inserted { get; set; }
    public long DistinctEventIds { get; set; }
    public long Duplicates => Inserted - DistinctEventIds;
    public long DeadLettered { get; set; }
    public long DeadLetteredDistinct { get; set; }
    public long Lost => Produced - DistinctEventIds - DeadLetteredDistinct;
    public double ProduceSeconds { get; set; }

    /// <summary>From the first worker start until every good event was visible (or the wait gave up).</summary>
    public double TotalSeconds { get; set; }

    public double EventsPerSecond => TotalSeconds > 0 ? Math.Round(Produced / TotalSeconds) : 0;
    public double FirstRowsSeconds { get; set; }
    public int WorkerKills => Faults.Count(f => f.Kind == FaultKinds.WorkerKill);
    public double? MedianWorkerRecoverySeconds => Median(Faults.Where(f => f.Kind == FaultKinds.WorkerKill).Select(f => f.RecoverySeconds));
    public double? MaxWorkerRecoverySeconds => Faults.Where(f => f.Kind == FaultKinds.WorkerKill).Max(f => f.RecoverySeconds);
    public int? FinalExitCode { get; set; }
    public string? Failure { get; set; }
    public List<FaultRecord> Faults { get; } = [];

    /// <summary>(seconds, rows) every ~0.5 s, for the chart and the JSON.</summary>
    public List<double[]> RowCountSeries { get; set; } = [];

    private static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.OfType<double>().Order().ToArray();
        if (sorted.Length == 0)
            return null;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : Math.Round((sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2, 3);
    }
}

internal static class FaultKinds
{
    public const string WorkerKill = "worker_sigkill";
    public const string ClickHouseKill = "clickhouse_sigkill_restart";
    public const string BrokerDown = "kafka_broker_down_up";
}

using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Faults;

/// <summary>Per guarantee: faults with recovery times, and the final counts; printed, written as JSON and drawn.</summary>
internal sealed class FaultsReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public required DateTime StartedUtc { get; init; }
    public required Dictionary<string, object?> Machine { get; init; }
    public required Dictionary<string, object?> Settings { get; init; }
    public required string Method { get; init; }
    public required List<GuaranteeResult> Runs { get; init; }

    public static FaultsReport Create(DateTime startedUtc, FaultsOptions options, string clickHouseVersion, List<GuaranteeResult> runs) => new()
    {
        StartedUtc = startedUtc,
        Machine = new()
        {
            ["cores"] = Environment.ProcessorCount,
            ["cpu"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim(),
            ["os"] = RuntimeInformation.OSDescription,
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["clickhouse_version"] = clickHouseVersion,
            ["librdkafka_version"] = Confluent.Kafka.Library.VersionString,
            ["kafka"] = "librdkafka mock cluster, 3 brokers, in the bench process; ZooKeeper 3.8 (Debian) for ReplicatedMergeTree",
        },
        Settings = new()
        {
            ["events"] = options.Events,
            ["partitions"] = options.Partitions,
            ["kills"] = options.Kills,
            ["malformed_fraction"] = options.MalformedFraction,
            ["seed"] = options.Seed,
            ["extra_faults"] = options.ExtraFaults,
            ["worker"] = FaultsRun.DescribeWorkerSettings(options),
        },
        Method = "The worker runs as a child process (dotnet pipeline.dll run). Kill i is a SIGKILL once count() passes about " +
            "i/(kills+1) of the good events (seeded jitter of a third of a step, plus 0-400 ms), then it is restarted at once. " +
            "recovery_seconds: from the restart (or the fault's end) until count() grew again (polled every 100 ms); in exactly-once " +
            "mode that includes replaying the ledger's batches, which ClickHouse deduplicates. total_seconds: first start until every " +
            "good event_id was visible. duplicates = rows - distinct event_ids; lost = produced - distinct event_ids - distinct dead " +
            "letters (by source partition/offset headers).",
        Runs = runs,
    };

    public void PrintTable()
    {
        Console.WriteLine();
        Console.WriteLine($"{Settings["events"]:N0} events, {Settings["partitions"]} partitions, {Settings["kills"]} worker SIGKILLs, {Machine["cores"]} cores, ClickHouse {Machine["clickhouse_version"]}");
        Console.WriteLine($"{"guarantee",-12} {"table",-19} {"produced",10} {"malformed",9} {"inserted",10} {"distinct",10} {"dupes",8} {"DLQ",7} {"DLQ dist",8} {"lost",5} {"total s",8} {"ev/s",8} {"kills",5} {"recovery med/max s",19}");
        foreach (var r in Runs)
        {
            var engine = r.TableEngine.StartsWith("Replicated", StringComparison.Ordinal) ? "ReplicatedMergeTree" : r.TableEngine;
            Console.WriteLine($"{r.Guarantee,-12} {engine,-19} {r.Produced,10:N0} {r.Malformed,9:N0} {r.Inserted,10:N0} {r.DistinctEventIds,10:N0} {r.Duplicates,8:N0} " +
                $"{r.DeadLettered,7:N0} {r.DeadLetteredDistinct,8:N0} {r.Lost,5:N0} {r.TotalSeconds,8:F1} {r.EventsPerSecond,8:N0} {r.WorkerKills,5} " +
                $"{r.MedianWorkerRecoverySeconds,9:F2}/{r.MaxWorkerRecoverySeconds,-9:F2}{(r.Failure is null ? "" : "  FAILED: " + r.Failure)}");
        }
        Console.WriteLine();
        foreach (var r in Runs)
        {
            foreach (var f in r.Faults.Where(f => f.Kind != FaultKinds.WorkerKill))
                Console.WriteLine($"{r.Guarantee}: {f.Kind} at {f.AtSeconds:F1} s: rows grew again {f.RecoverySeconds:F2} s after its end ({f.Note})");
        }
    }

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, "faults", StartedUtc, JsonSerializer.Serialize(this, Json), path => FaultsChart.Save(this, path));

    internal static string Format(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

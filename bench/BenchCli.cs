using System.Globalization;
using EventPipeline.Bench.Batching;
using EventPipeline.Bench.E2e;
using EventPipeline.Bench.Faults;

namespace EventPipeline.Bench;

/// <summary>
/// The bench's shared help and argument-error path, run before any command starts: <c>--help</c>/<c>-h</c> print the
/// command's usage and exit 0; an unknown option, a missing or unparsable value, or one out of range prints one line
/// naming the option plus the usage, and exits 2, instead of an unhandled exception. The commands' own parsers keep
/// their flags and defaults; this only checks first.
/// </summary>
internal static class BenchCli
{
    private enum Value { None, Int, Long, Double, IntList, Text }

    private sealed record Spec(string Usage, IReadOnlyDictionary<string, Value>? Options, Action<string[]>? Parse = null);

    private static readonly Dictionary<string, Spec> Commands = new(StringComparer.Ordinal)
    {
        ["e2e"] = new("""
            usage: dotnet run -c Release --project bench -- e2e [options]
              The pipeline end to end against its ceilings (consume, sink) and ClickHouse's own Kafka engine.
              --events N                  events per run (default 1500000)
              --partitions N              topic partitions (default 128)
              --repeat N                  runs per contender (default 3)
              --batch-sizes N,N           Batch:Size values to run (default 50000,100000)
              --max-concurrent-inserts N  ClickHouse:MaxConcurrentInserts (default 2)
              --sink-batch-rows N         rows per insert of the sink ceiling (default 100000)
              --timeout-s N               a contender still running after this is recorded as failed (default 240)
              --no-kcat                   skip the kcat | clickhouse-client contender
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--events"] = Value.Long, ["--partitions"] = Value.Int, ["--repeat"] = Value.Int, ["--batch-sizes"] = Value.IntList,
            ["--max-concurrent-inserts"] = Value.Int, ["--sink-batch-rows"] = Value.Int, ["--timeout-s"] = Value.Int,
            ["--no-kcat"] = Value.None, ["--out"] = Value.Text,
        }, args => E2eOptions.Parse(args)),
        ["faults"] = new("""
            usage: dotnet run -c Release --project bench -- faults [options]
              kill -9 and other faults under both delivery guarantees.
              --kills N                   worker kills per guarantee (default 20)
              --events N                  events (default 2000000)
              --partitions N              topic partitions (default 256)
              --guarantee G               ExactlyOnce, AtLeastOnce or both (default both)
              --malformed F               malformed fraction in [0, 1) (default 0.01)
              --seed N                    generator seed (default 7)
              --batch-size N              the worker's Batch:Size (default: the product's)
              --step-timeout-s N          a step slower than this fails the run (default 180)
              --no-extra-faults           no ClickHouse kill or broker down/up between worker kills
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--kills"] = Value.Int, ["--events"] = Value.Long, ["--partitions"] = Value.Int, ["--guarantee"] = Value.Text,
            ["--malformed"] = Value.Double, ["--seed"] = Value.Int, ["--batch-size"] = Value.Int, ["--step-timeout-s"] = Value.Int,
            ["--no-extra-faults"] = Value.None, ["--out"] = Value.Text,
        }, args => FaultsOptions.Parse(args)),
        ["batching"] = new("""
            usage: dotnet run -c Release --project bench -- batching [options]
              The batch-size policies on the real pipeline (worker processes, exact latency from GET /latency) beside the simulator.
              --profile P[,P]             steady, diurnal, step, bursty, saturation, merge-pressure, slow-clickhouse or all (default steady)
              --seconds N                 load per policy run, at least 15 (default 60)
              --repeat N                  runs per policy, interleaved in a seeded random order (default 10)
              --partitions N              topic partitions (default 64)
              --static-sizes N,N          static sizes to run (default: the simulator's best)
              --threshold-targets-ms N,N  threshold fill times (Batch:TargetLatencyMs) to run, or none (default 1000)
              --aimd-latency-targets-ms N,N  AIMD variants that also halve on rows older than N ms at ack, or none (default 1000)
              --grid                      tune the baselines: the grid's static sizes, fill times and AIMD targets, no DQN
              --no-dqn                    leave the learned policy out
              --max-inserts-per-second X  the constraint a tuned baseline must meet (default 2)
              --max-latency-ms N          Batch:MaxLatencyMs for every policy (default: the product's, 500)
              --workers N                 workers sharing the table (default 1; merge-pressure 3)
              --proxy-delay-ms N          slow-clickhouse: one-way delay each direction (default 100)
              --proxy-bytes-per-second N  slow-clickhouse: bandwidth cap each direction (default none)
              --parts-to-delay-insert N   merge-pressure: the table's parts_to_delay_insert (default 20)
              --parts-to-throw-insert N   merge-pressure: the table's parts_to_throw_insert (default 60)
              --model DIR                 DQN artifact (default src/Models/Artifacts/batcher)
              --out DIR                   results directory (default perf-data)
              --from-report FILE          no runs: calibrate the simulator on FILE's runs (a batching-*.json) and judge the gate
              --clickhouse-url URL        record each policy's medians in URL's ml_model_performance (evaluation real-pipeline)
              --clickhouse-database DB    its database (default default)
            """, new Dictionary<string, Value>
        {
            ["--from-report"] = Value.Text, ["--clickhouse-url"] = Value.Text, ["--clickhouse-database"] = Value.Text, ["--profile"] = Value.Text, ["--seconds"] = Value.Int, ["--repeat"] = Value.Int, ["--partitions"] = Value.Int, ["--static-sizes"] = Value.IntList,
            ["--threshold-targets-ms"] = Value.IntList, ["--aimd-latency-targets-ms"] = Value.IntList, ["--grid"] = Value.None, ["--no-dqn"] = Value.None,
            ["--max-inserts-per-second"] = Value.Double, ["--max-latency-ms"] = Value.Int, ["--workers"] = Value.Int, ["--proxy-delay-ms"] = Value.Int, ["--proxy-bytes-per-second"] = Value.Long,
            ["--parts-to-delay-insert"] = Value.Int, ["--parts-to-throw-insert"] = Value.Int, ["--model"] = Value.Text, ["--out"] = Value.Text,
        }, args => BatchingOptions.Parse(args)),
        ["codec"] = new("""
            usage: dotnet run -c Release --project bench -- codec [options]
              The learned event codec, its featurizer-only ablation and the classical codecs.
              --events N                  events per dataset (default 100000)
              --repeat N                  runs per codec (default 3)
              --model DIR                 codec artifact (default: the one shipped next to the bench)
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--events"] = Value.Int, ["--repeat"] = Value.Int, ["--model"] = Value.Text, ["--out"] = Value.Text,
        }),
        ["codec-e2e"] = new("""
            usage: dotnet run -c Release --project bench -- codec-e2e [options]
              The pipeline end to end with and without the learned codec.
              --events N                  events (default 400000)
              --repeat N                  runs (default 3)
              --partitions N              topic partitions (default 64)
              --batch-size N              Batch:Size (default 100000)
              --model DIR                 codec artifact (default: the one shipped next to the bench)
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--events"] = Value.Long, ["--repeat"] = Value.Int, ["--partitions"] = Value.Int, ["--batch-size"] = Value.Int,
            ["--model"] = Value.Text, ["--out"] = Value.Text,
        }),
        ["latency"] = new("""
            usage: dotnet run -c Release --project bench -- latency [options]
              Produce->visible latency (p50/p95/p99/max, exact to 1%, from the worker's GET /latency) under paced load at fractions
              of the maximum sustainable rate; the worker runs as its own process with a user's defaults.
              --max-rate N                the maximum rate in events/s (default: measured by draining --backlog)
              --backlog N                 events drained to measure the maximum rate (default 450000)
              --levels N,N                offered loads in percent of the maximum rate (default 25,50,75)
              --repeat N                  interleaved repetitions of every level (default 3)
              --seconds N                 measured seconds per run (default 30)
              --warmup-s N                paced seconds before each measurement, dropped (default 5)
              --partitions N              topic partitions (default 128)
              --scrape-s N                /metrics scrape interval while the worker runs (default 15)
              --timeout-s N               a drain still unfinished after this fails the bench (default 180)
              --worker-setting K=V        worker configuration on top of the defaults (repeatable), e.g. Batch:MaxLatencyMs=500
              --label NAME                results go to latency-NAME-latest.json/.png
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--worker-setting"] = Value.Text, ["--label"] = Value.Text, ["--max-rate"] = Value.Long, ["--backlog"] = Value.Long, ["--levels"] = Value.IntList, ["--repeat"] = Value.Int, ["--seconds"] = Value.Int,
            ["--warmup-s"] = Value.Int, ["--partitions"] = Value.Int, ["--scrape-s"] = Value.Int, ["--timeout-s"] = Value.Int, ["--out"] = Value.Text,
        }, args => EventPipeline.Bench.Latency.LatencyOptions.Parse(args)),
        ["memory"] = new("""
            usage: dotnet run -c Release --project bench -- memory [options]
              The worker's RSS (VmRSS, every 250 ms) while a fresh worker drains a small and a large backlog loaded beforehand; counts verified.
              --small N                   the smaller backlog (default 500000)
              --large N                   the larger backlog (default 5000000)
              --partitions N              partitions of both backlogs (default: what the large one needs, ~5 MiB each in the embedded broker)
              --repeat N                  interleaved repetitions (default 1)
              --sample-ms N               RSS sample interval (default 250)
              --scrape-s N                /metrics scrape interval while a drain runs (default 15)
              --timeout-s N               a drain still unfinished after this fails the bench (default 900)
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--small"] = Value.Long, ["--large"] = Value.Long, ["--partitions"] = Value.Int, ["--repeat"] = Value.Int, ["--sample-ms"] = Value.Int,
            ["--scrape-s"] = Value.Int, ["--timeout-s"] = Value.Int, ["--out"] = Value.Text,
        }, args => EventPipeline.Bench.Memory.MemoryOptions.Parse(args)),
        // BenchmarkDotNet parses its own arguments; only the help is ours.
        ["cpu"] = new("""
            usage: dotnet run -c Release --project bench -- cpu [options]
              CPU seconds per event of the worker (its own process), ClickHouse and the broker, and of kcat | clickhouse-client.
              --small N                   the smaller backlog (default 300000)
              --large N                   the larger backlog; per event = CPU difference / size difference (default 1200000)
              --partitions N              topic partitions (default 256)
              --repeat N                  interleaved repetitions (default 3)
              --scrape-s N                /metrics scrape interval while a run drains (default 15)
              --input json|protobuf       the events' wire format (default json)
              --timeout-s N               a run still draining after this fails (default 300)
              --no-kcat                   skip the kcat | clickhouse-client peer
              --trace DIR                 first drain a large backlog under dotnet-trace (not counted); trace + top frames to DIR
              --worker-env NAME=VALUE     environment for the worker process only (repeatable), e.g. DOTNET_GCgen0size=0x4000000
              --label NAME                results go to cpu-INPUT-NAME-latest.json/.png
              --baseline DIR              A/B: also run the worker built in DIR (its pipeline.dll), interleaved; paired difference + 95% CI
              --out DIR                   results directory (default perf-data)
            """, new Dictionary<string, Value>
        {
            ["--baseline"] = Value.Text, ["--trace"] = Value.Text, ["--worker-env"] = Value.Text, ["--label"] = Value.Text, ["--small"] = Value.Long, ["--large"] = Value.Long, ["--partitions"] = Value.Int, ["--repeat"] = Value.Int, ["--scrape-s"] = Value.Int,
            ["--input"] = Value.Text, ["--timeout-s"] = Value.Int, ["--no-kcat"] = Value.None, ["--out"] = Value.Text,
        }, args => EventPipeline.Bench.Cpu.CpuOptions.Parse(args)),
        ["micro"] = new("""
            usage: dotnet run -c Release --project bench -- micro [BenchmarkDotNet arguments]
              The BenchmarkDotNet micro-benchmarks (all unless --filter is given), short job, in process;
              summaries go to perf-data/micro-latest.md and .json. E.g. --filter '*Codec*', --list flat.
            """, null),
    };

    private static readonly string[] HelpFlags = ["--help", "-h", "-?"];

    /// <summary>Everything after the command name must be valid before the command runs.</summary>
    /// <returns>The exit code when the command must not run (help: 0, bad arguments: 2); null to run it.</returns>
    public static int? Intercept(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
            return null; // Program prints the overall usage and exits 2, as before
        if (args[0] is "--help" or "-h" or "-?" or "help")
        {
            stdout.WriteLine("usage: dotnet run -c Release --project bench -- <command> [options]; --help after a command shows its options.");
            stdout.WriteLine($"commands: {string.Join(", ", Commands.Keys)}");
            foreach (var spec in Commands.Values)
                stdout.WriteLine(spec.Usage);
            return 0;
        }
        if (!Commands.TryGetValue(args[0], out var command))
            return null;
        var rest = args[1..];
        if (rest.Any(a => HelpFlags.Contains(a)))
        {
            stdout.WriteLine(command.Usage);
            return 0;
        }
        if (Check(command, rest) is { } problem)
        {
            stderr.WriteLine($"bench {args[0]}: {problem}");
            stderr.WriteLine(command.Usage);
            return 2;
        }
        return null;
    }

    private static string? Check(Spec command, string[] args)
    {
        if (command.Options is null)
            return null;
        for (var i = 0; i < args.Length; i++)
        {
            if (!command.Options.TryGetValue(args[i], out var kind))
                return $"unknown option '{args[i]}' (see --help)";
            if (kind == Value.None)
                continue;
            if (i + 1 >= args.Length)
                return $"{args[i]} needs a value";
            var value = args[++i];
            var ok = kind switch
            {
                Value.Int => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                Value.Long => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                Value.Double => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
                Value.IntList => value == "none" || value.Split(',').All(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)),
                _ => true,
            };
            if (!ok)
                return $"{args[i - 1]} '{value}' is not {(kind == Value.Double ? "a number" : kind == Value.IntList ? "a comma-separated list of whole numbers (or none)" : "a whole number")}";
        }
        try
        {
            command.Parse?.Invoke(args);
        }
        catch (ArgumentException ex)
        {
            // The options' own range checks name the option in their message; drop .NET's "(Parameter ...)" tail.
            var message = ex.Message.Split('\n')[0];
            var tail = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            return tail > 0 ? message[..tail] : message;
        }
        return null;
    }
}

using System.Diagnostics;
using System.Globalization;
using EventPipeline.Bench.E2e;
using EventPipeline.DevTools.Generation;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Cpu;

/// <summary>
/// CPU seconds per event of every process involved, steady on a noisy machine: the worker runs as its own process
/// (as in production) and each process's user+system time is read from /proc. Two backlog sizes run interleaved
/// (small, large, small, large...) and the per-event figure is (CPU(large) - CPU(small)) / (large - small), so that
/// start-up, JIT and the group join cancel out. The peer, <c>kcat -C | clickhouse-client</c>, is measured the same way.
/// While the worker drains, /metrics is scraped at Prometheus' interval; once it is idle, the CPU of one scrape is
/// measured over 20 scrapes.
/// </summary>
internal static class CpuBenchmark
{
    private const string Database = BenchEnvironment.Database;

    public static async Task<int> RunAsync(CpuOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        await using var environment = await BenchEnvironment.StartAsync("cpu", kafkaBrokers: 3, ct);
        var (kafka, server, logDir) = (environment.Kafka, environment.Server, environment.LogDirectory);
        var serverPid = int.Parse(File.ReadAllText(Path.Combine(server.StateDirectory, "server.pid")).Trim(), CultureInfo.InvariantCulture);
        var sizes = new[] { options.Small, options.Large };
        foreach (var size in sizes)
            await LoadAsync(kafka, options, size, ct);

        if (options.TraceDirectory is { } traceDirectory)
        {
            // A repetition of its own before the measured ones: the tracer's CPU must not count.
            var traced = await RunWorkerAsync(kafka, server, serverPid, options, options.Large, 0, logDir, ct, traceDirectory);
            Console.WriteLine($"traced (not counted): {traced.Describe()}");
        }
        var runs = new List<CpuRun>();
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            foreach (var size in sizes)
            {
                // A/B: alternate which build goes first, so that neither always runs on the warmer (or busier) machine.
                string?[] builds = options.BaselineDirectory is null ? [null]
                    : repetition % 2 == 1 ? [null, options.BaselineDirectory] : [options.BaselineDirectory, null];
                foreach (var build in builds)
                {
                    var run = await RunWorkerAsync(kafka, server, serverPid, options, size, repetition, logDir, ct, baselineDirectory: build);
                    runs.Add(run);
                    Console.WriteLine(run.Describe());
                }
                if (options.Kcat)
                {
                    var peer = await RunKcatAsync(kafka, server, serverPid, options, size, repetition, ct);
                    runs.Add(peer);
                    Console.WriteLine(peer.Describe());
                }
            }
        }

        var report = CpuReport.Create(startedUtc, options, environment.ServerVersion, runs);
        report.Print();
        Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
        environment.Succeeded();
        return 0;
    }

    private static string Topic(long size) => $"cpu_{size}";
    private static string PeerTopic(long size) => $"cpu_peer_{size}";

    /// <summary>One topic per size (and one in the peer's JSON), every count verified against the watermarks.</summary>
    private static async Task LoadAsync(MockKafkaCluster kafka, CpuOptions options, long size, CancellationToken ct)
    {
        var generator = TopicLoader.Generator with { ProtobufFraction = options.Input == "protobuf" ? 1 : 0 };
        kafka.CreateTopic(Topic(size), options.Partitions);
        await EventProducer.ProduceAsync(new ProduceRequest(kafka.BootstrapServers, Topic(size), size, generator, RoundRobin: true), null, ct);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, Topic(size), options.Partitions, size);
        if (!options.Kcat)
            return;
        var peerPartitions = TopicLoader.PeerPartitions(size, options.Partitions);
        kafka.CreateTopic(PeerTopic(size), peerPartitions);
        await Task.Run(() => TopicLoader.ProducePeer(kafka.BootstrapServers, PeerTopic(size), size, peerPartitions, ct), ct);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, PeerTopic(size), peerPartitions, size);
        Console.WriteLine($"Loaded {size:N0} {options.Input} events into {Topic(size)} ({options.Partitions} partitions) and {PeerTopic(size)}; watermarks verified");
    }

    private static async Task<CpuRun> RunWorkerAsync(MockKafkaCluster kafka, LocalClickHouseServer server, int serverPid,
        CpuOptions options, long size, int repetition, string logDir, CancellationToken ct, string? traceDirectory = null, string? baselineDirectory = null)
    {
        var contender = baselineDirectory is null ? "pipeline" : CpuReport.Baseline;
        var table = await BenchTables.CreateAsync(server, Database, "cpu_pipe", ct);
        var serverBefore = ProcessCpu.Seconds(serverPid) ?? 0;
        var benchBefore = ProcessCpu.Self();
        using var worker = BenchWorker.Start(kafka.BootstrapServers, Topic(size), server.HttpUrl, Database, table, $"{contender}-{size}-{repetition}",
            Path.Combine(logDir, $"{contender}-{size}-{repetition}.log"),
            pipelineDll: baselineDirectory is null ? null : Path.Combine(baselineDirectory, "pipeline.dll"), environment: options.WorkerEnvironment);
        var clock = Stopwatch.StartNew();
        using var scraping = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var scrapes = worker.ScrapeLoopAsync(options.ScrapeInterval, scraping.Token);
        var tracing = traceDirectory is null ? Task.CompletedTask : TraceAsync(server, table, size, worker, traceDirectory, ct);
        try
        {
            await BenchTables.WaitForRowsAsync(server, $"{Database}.{table}", size, options.RunTimeout, worker, ct);
            await tracing;
            var seconds = clock.Elapsed.TotalSeconds;
            var workerCpu = ProcessCpu.Seconds(worker.Pid) ?? double.NaN;
            var serverCpu = (ProcessCpu.Seconds(serverPid) ?? 0) - serverBefore;
            var benchCpu = ProcessCpu.Self() - benchBefore;
            await scraping.CancelAsync();
            var scraped = await scrapes;
            var (scrapeMs, scrapeBytes) = await MeasureScrapeAsync(worker, ct);
            await worker.StopAsync();
            return new CpuRun(contender, repetition, size, seconds, new Dictionary<string, double>
            {
                ["worker"] = workerCpu, ["clickhouse_server"] = serverCpu, ["broker_and_bench"] = benchCpu,
            }, scraped, scrapeMs, scrapeBytes);
        }
        finally
        {
            await scraping.CancelAsync();
            await BenchTables.DropAsync(server, Database, table);
        }
    }

    /// <summary>
    /// Once a tenth of the rows are in (start-up and JIT over), samples the worker's thread stacks for 5 s with dotnet-trace
    /// and its runtime counters (GC, allocation rate, thread pool) with dotnet-counters (dotnet tools: `dotnet tool install -g
    /// dotnet-trace dotnet-counters`), and writes the trace, its top 25 frames (exclusive and inclusive) and the counters.
    /// </summary>
    private static async Task TraceAsync(LocalClickHouseServer server, string table, long size, BenchWorker worker, string directory, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        await BenchTables.WaitForRowsAsync(server, $"{Database}.{table}", size / 10, TimeSpan.FromMinutes(5), worker, ct, produced: size);
        var pid = worker.Pid;
        var trace = Path.Combine(Path.GetFullPath(directory), "worker.nettrace");
        var id = pid.ToString(CultureInfo.InvariantCulture);
        await Task.WhenAll(
            RunToolAsync("dotnet-trace", ["collect", "-p", id, "--profile", "dotnet-sampled-thread-time,gc-collect", "--duration", "00:00:00:05", "-o", trace], null, ct),
            RunToolAsync("dotnet-counters", ["collect", "-p", id, "--counters", "System.Runtime", "--format", "csv", "--duration", "00:00:00:05",
                "-o", Path.Combine(Path.GetFullPath(directory), "counters.csv")], null, ct));
        await RunToolAsync("dotnet-trace", ["report", trace, "topN", "-n", "25"], Path.Combine(directory, "top-exclusive.txt"), ct);
        await RunToolAsync("dotnet-trace", ["report", trace, "topN", "-n", "25", "--inclusive"], Path.Combine(directory, "top-inclusive.txt"), ct);
    }

    private static async Task RunToolAsync(string tool, string[] arguments, string? outputPath, CancellationToken ct)
    {
        var toolPath = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", tool);
        var start = new ProcessStartInfo(File.Exists(toolPath) ? toolPath : tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (outputPath is not null)
            await File.WriteAllTextAsync(outputPath, await stdout, ct);
        if (process.ExitCode != 0)
            Console.Error.WriteLine($"{tool} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
    }

    private static async Task<CpuRun> RunKcatAsync(MockKafkaCluster kafka, LocalClickHouseServer server, int serverPid,
        CpuOptions options, long size, int repetition, CancellationToken ct)
    {
        var table = await BenchTables.CreateAsync(server, Database, "cpu_kcat", ct);
        try
        {
            // `times` prints the shell's and then its children's user and system time: kcat + clickhouse-client.
            var script = $"set -o pipefail; kcat -C -q -e -o beginning -b '{kafka.BootstrapServers}' -t {PeerTopic(size)} " +
                $"| clickhouse-client --host 127.0.0.1 --port {server.TcpPort} --query 'INSERT INTO {Database}.{table} FORMAT JSONEachRow' && times";
            var start = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            var serverBefore = ProcessCpu.Seconds(serverPid) ?? 0;
            var benchBefore = ProcessCpu.Self();
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.RunTimeout);
            await process.WaitForExitAsync(timeout.Token);
            var seconds = clock.Elapsed.TotalSeconds;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"kcat | clickhouse-client exited {process.ExitCode}: {await stderr}");
            var count = await server.CountAsync($"{Database}.{table}", ct);
            if (count != size)
                throw new InvalidOperationException($"kcat | clickhouse-client inserted {count} rows, expected {size}");
            return new CpuRun("kcat_clickhouse_client", repetition, size, seconds, new Dictionary<string, double>
            {
                ["kcat_and_client"] = ChildrenSeconds(await stdout),
                ["clickhouse_server"] = (ProcessCpu.Seconds(serverPid) ?? 0) - serverBefore,
                ["broker_and_bench"] = ProcessCpu.Self() - benchBefore,
            }, 0, double.NaN, 0);
        }
        finally
        {
            await BenchTables.DropAsync(server, Database, table);
        }
    }

    /// <summary>The second line of bash's <c>times</c>: children's user and system time, e.g. <c>0m1.234s 0m0.056s</c>.</summary>
    internal static double ChildrenSeconds(string times)
    {
        var lines = times.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(ParseShellTime);
    }

    private static double ParseShellTime(string text)
    {
        var minutes = text.IndexOf('m');
        return double.Parse(text[..minutes], CultureInfo.InvariantCulture) * 60 + double.Parse(text[(minutes + 1)..^1], CultureInfo.InvariantCulture);
    }

    /// <summary>CPU of one scrape of an idle worker that holds every partition: 20 scrapes, the worker's CPU difference over 20.</summary>
    /// <summary>
    /// CPU of one scrape of the idle worker: 100 scrapes back to back, minus what the idle worker burns on its own (its
    /// polling, librdkafka's threads) over as long a time without scrapes, measured right after. /proc counts in 10 ms
    /// ticks: 100 scrapes keep that under 0.1 ms per scrape.
    /// </summary>
    private static async Task<(double Milliseconds, int Bytes)> MeasureScrapeAsync(BenchWorker worker, CancellationToken ct)
    {
        const int scrapes = 100;
        var pid = worker.Pid;
        var body = await worker.MetricsAsync(ct); // warm
        await Task.Delay(500, ct);
        var before = ProcessCpu.Seconds(pid) ?? double.NaN;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < scrapes; i++)
            body = await worker.MetricsAsync(ct);
        var scraping = clock.Elapsed;
        var afterScrapes = ProcessCpu.Seconds(pid) ?? double.NaN;
        await Task.Delay(scraping, ct);
        var idle = (ProcessCpu.Seconds(pid) ?? double.NaN) - afterScrapes;
        return (Math.Max(0, afterScrapes - before - idle) * 1000 / scrapes, body.Length);
    }

}

/// <summary>One drain of one backlog by one contender: wall seconds and CPU seconds per process.</summary>
internal sealed record CpuRun(string Contender, int Repetition, long Events, double Seconds, IReadOnlyDictionary<string, double> CpuSeconds,
    int ScrapesDuringRun, double ScrapeCpuMs, int ScrapeBytes)
{
    public string Describe() =>
        $"[{Repetition}] {Contender,-24} {Events,9:N0} events {Seconds,7:F2} s  " +
        string.Join("  ", CpuSeconds.Select(p => $"{p.Key} {p.Value:F2} s")) +
        (double.IsNaN(ScrapeCpuMs) ? "" : $"  scrape {ScrapeCpuMs:F1} ms CPU ({ScrapeBytes / 1024} KiB)");
}

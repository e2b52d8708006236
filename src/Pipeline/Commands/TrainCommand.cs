using System.CommandLine;
using System.Text.Json;
using EventPipeline.Models;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Host.Commands;

/// <summary><c>pipeline train batcher</c>: trains the DQN batch sizer in the calibrated simulator and writes a versioned artifact.</summary>
internal static class TrainCommand
{
    private sealed record BatcherRequest(int Episodes, int Seed, FileInfo? Calibration, bool Uncalibrated, bool FromTelemetry, DirectoryInfo Output,
        FileInfo? EvaluationOut, Uri? ClickHouseUrl, string Database, string? User, string? Password, string PerformanceTable, string TelemetryTable,
        DateTime SinceUtc);

    public static Command Create()
    {
        var episodes = new Option<int>("--episodes") { Description = "Training episodes (one simulated day each).", DefaultValueFactory = _ => 60 };
        var seed = new Option<int>("--seed") { Description = "Seed for the simulator, the exploration and the network.", DefaultValueFactory = _ => 7 };
        var calibration = new Option<FileInfo?>("--calibration") { Description = "Insert cost model from `pipeline calibrate`." };
        var uncalibrated = new Option<bool>("--uncalibrated") { Description = "Use the built-in guess of insert costs (not for a model you deploy)." };
        var fromTelemetry = new Option<bool>("--from-telemetry")
        {
            Description = $"Refit the insert cost model from the worker's telemetry table (needs --clickhouse-url); it is saved as {InsertCostSource.FileName} in --out.",
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for batcher-dqn.weights and batcher-dqn.json.", Required = true };
        var table = new Option<FileInfo?>("--evaluation-out") { Description = "Also write the evaluation table here (e.g. perf-data/batching-sim-latest.json)." };
        var clickHouseUrl = UrlOption.Create("--clickhouse-url",
            "ClickHouse HTTP URL: the evaluation is recorded in --clickhouse-table, and --from-telemetry reads --telemetry-table there.");
        var database = new Option<string>("--clickhouse-database") { Description = "Database of the ClickHouse tables.", DefaultValueFactory = _ => "default" };
        var performanceTable = new Option<string>("--clickhouse-table")
        {
            Description = $"Model performance table ({ModelPerformanceTable.DdlFile}).", DefaultValueFactory = _ => ModelPerformanceTable.DefaultName,
        };
        var telemetryTable = new Option<string>("--telemetry-table")
        {
            Description = $"The worker's Telemetry:Table ({TelemetryTable.DdlFile}).", DefaultValueFactory = _ => TelemetryTable.DefaultName,
        };
        var since = new Option<DateTime>("--since")
        {
            Description = "With --from-telemetry: inserts since this UTC time (2026-01-31 12:00:00) or this long ago (30m, 24h, 7d).",
            DefaultValueFactory = _ => TelemetryTable.ParseSince("7d", DateTime.UtcNow),
            CustomParser = result =>
            {
                try
                {
                    return TelemetryTable.ParseSince(result.Tokens.Count == 1 ? result.Tokens[0].Value : "", DateTime.UtcNow);
                }
                catch (FormatException e)
                {
                    result.AddError($"--since: {e.Message}");
                    return default;
                }
            },
        };
        var user = new Option<string?>("--user") { Description = "ClickHouse user." };
        var password = new Option<string?>("--password") { Description = "ClickHouse password." };
        var batcher = new Command("batcher", "Train the Double DQN that picks the ClickHouse insert batch size.")
        {
            episodes, seed, calibration, uncalibrated, fromTelemetry, output, table, clickHouseUrl, database, performanceTable, telemetryTable, since,
            user, password,
        };
        batcher.SetAction((parse, cancellationToken) => TrainBatcherAsync(
            new BatcherRequest(parse.GetValue(episodes), parse.GetValue(seed), parse.GetValue(calibration), parse.GetValue(uncalibrated),
                parse.GetValue(fromTelemetry), parse.GetValue(output)!, parse.GetValue(table), parse.GetValue(clickHouseUrl), parse.GetValue(database)!,
                parse.GetValue(user), parse.GetValue(password), parse.GetValue(performanceTable)!, parse.GetValue(telemetryTable)!, parse.GetValue(since)),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken));
        return new Command("train", "Train models.") { batcher, CodecCommand.CreateTrain(), TrainPartitionerCommand.Create() };
    }

    private static async Task<int> TrainBatcherAsync(BatcherRequest request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if ((request.Calibration is null ? 0 : 1) + (request.Uncalibrated ? 1 : 0) + (request.FromTelemetry ? 1 : 0) != 1)
        {
            await stderr.WriteLineAsync("give one of --calibration FILE (from `pipeline calibrate`), --from-telemetry or --uncalibrated").ConfigureAwait(false);
            return 2;
        }
        if (request.FromTelemetry && request.ClickHouseUrl is null)
        {
            await stderr.WriteLineAsync("--from-telemetry reads the telemetry table: give --clickhouse-url").ConfigureAwait(false);
            return 2;
        }
        using var clickHouse = request.ClickHouseUrl is { } url
            ? new ClickHouseHttpClient(url, request.Database, request.User, request.Password, TimeSpan.FromMinutes(1))
            : null;
        var tracking = clickHouse is null ? null : new ModelPerformanceTable(clickHouse, request.PerformanceTable);
        InsertCostSource cost;
        try
        {
            // Every table is checked and the cost model settled before training spends its minutes.
            if (tracking is not null)
                await tracking.CheckAsync(cancellationToken).ConfigureAwait(false);
            cost = request.FromTelemetry
                ? await InsertCostSource.FromTelemetryAsync(clickHouse!, new TelemetryTable(clickHouse!, request.TelemetryTable), request.SinceUtc, cancellationToken)
                    .ConfigureAwait(false)
                : request.Calibration is { } file ? InsertCostSource.FromFile(file) : InsertCostSource.Uncalibrated;
        }
        catch (Exception e) when (e is ModelTrackingException or InsufficientTelemetryException)
        {
            await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is HttpRequestException or ClickHouseServerException)
        {
            await stderr.WriteLineAsync($"ClickHouse at {request.ClickHouseUrl}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        if (cost.FromTelemetry)
            stdout.WriteLine($"refitted from {cost.Description}: {cost.Model.Law}");

        stderr.WriteLine($"torch self-check: ones(2).sum() = {TorchRuntime.SelfCheck()} on {TorchRuntime.Device.type}");
        var options = new TrainerOptions { Episodes = request.Episodes, Seed = request.Seed, AllowUncalibrated = !cost.Model.Calibrated };
        var trainer = new BatcherTrainer(cost.Model, options);
        var (agent, curve, seconds) = trainer.Train(e =>
            stderr.WriteLine($"episode {e.Episode,3} {e.Profile,-10} reward {e.TotalReward,9:F2} eps {e.Epsilon:F2} loss {e.MeanLoss:F4}"));
        using (agent)
        {
            var (rows, staticBest) = trainer.EvaluateAll(agent);
            var verdict = Verdict(rows, staticBest);
            var metadata = new BatcherMetadata
            {
                Version = $"1.0.0+seed{options.Seed}.ep{options.Episodes}",
                SchemaHash = BatcherSchema.Hash, Features = BatcherSchema.Features, Actions = BatcherSchema.Actions,
                Seed = options.Seed, Episodes = options.Episodes, EpisodeSeconds = options.EpisodeSeconds,
                CreatedAt = DateTimeOffset.UtcNow.ToString("O"), TrainingSeconds = Math.Round(seconds, 2),
                CalibrationSource = cost.Description, Calibration = cost.Model with { Points = [] }, Reward = options.Reward, Dqn = options.Dqn,
                Simulator = options.Simulator, TrainingCurve = curve, Evaluation = rows, StaticBest = staticBest, Verdict = verdict,
            };
            BatcherArtifact.Save(request.Output.FullName, agent, metadata);
            // A refitted model exists nowhere else: keep it with the agent it trained, as the shipped artifact does.
            if (cost.FromTelemetry)
                cost.Model.Save(Path.Combine(request.Output.FullName, InsertCostSource.FileName));
            if (request.EvaluationOut is { } tableFile)
            {
                var summary = new { metadata.Version, metadata.CreatedAt, metadata.CalibrationSource, metadata.Calibration, metadata.Reward, metadata.StaticBest, metadata.Verdict, Evaluation = rows };
                await File.WriteAllTextAsync(tableFile.FullName, JsonSerializer.Serialize(summary, InsertCostModel.Json), cancellationToken).ConfigureAwait(false);
            }
            stdout.WriteLine($"{"profile",-11}{"policy",-15}{"rows/s",10}{"p50",8}{"p95",8}{"p99",8}{"ins/s",7}{"reward",9}");
            foreach (var r in rows.Where(r => !r.Policy.StartsWith("static-", StringComparison.Ordinal) || r.Policy == staticBest))
                stdout.WriteLine($"{r.Profile,-11}{r.Policy,-15}{r.ThroughputRowsPerSecond,10:F0}{r.P50Seconds,8:F3}{r.P95Seconds,8:F3}{r.P99Seconds,8:F3}{r.InsertsPerSecond,7:F2}{r.MeanReward,9:F4}");
            stdout.WriteLine($"trained in {seconds:F1} s; static best = {staticBest}; {verdict}");
            if (tracking is null)
                return 0;
            var now = DateTime.UtcNow;
            List<ModelPerformanceRow> performance =
                [.. ModelPerformanceReport.ForBatcher(metadata, trainer.TrainingTransitions, ModelPerformanceReport.MeasureInferenceMilliseconds(agent), now)];
            if (cost.Quality is { } quality)
                performance.Add(ModelPerformanceReport.ForCostModel(cost.Model, quality, cost.Evaluation, now));
            return await RecordPerformanceAsync(tracking, performance, stdout, stderr, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes a trained model's performance rows; a failure is reported (exit code 1) but the saved model stays.</summary>
    internal static async Task<int> RecordPerformanceAsync(ModelPerformanceTable tracking, IReadOnlyCollection<ModelPerformanceRow> performance,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            await tracking.WriteAsync(performance, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or ClickHouseServerException or TaskCanceledException)
        {
            await stderr.WriteLineAsync($"the model is saved, but its performance rows were not written to {tracking.Name}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        stdout.WriteLine($"{performance.Count} performance rows -> {tracking.Name}");
        return 0;
    }

    /// <summary>Mean reward over all profiles decides; the verdict names the policy to use.</summary>
    internal static string Verdict(IReadOnlyList<EvaluationRow> rows, string staticBest)
    {
        double Mean(string policy) => rows.Where(r => r.Policy == policy).Select(r => r.MeanReward).DefaultIfEmpty(double.NaN).Average();
        var scores = new[] { "dqn", "aimd", "threshold", staticBest }.Select(p => (Policy: p, Score: Mean(p))).Where(p => !double.IsNaN(p.Score)).ToList();
        var best = scores.MaxBy(p => p.Score);
        var line = string.Join(", ", scores.Select(p => $"{p.Policy} {p.Score:F4}"));
        return best.Policy == "dqn"
            ? $"dqn has the best mean reward in the simulator ({line})"
            : $"dqn does NOT beat {best.Policy} in the simulator ({line}); use {best.Policy}";
    }
}

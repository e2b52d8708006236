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
    public static Command Create()
    {
        var episodes = new Option<int>("--episodes") { Description = "Training episodes (one simulated day each).", DefaultValueFactory = _ => 60 };
        var seed = new Option<int>("--seed") { Description = "Seed for the simulator, the exploration and the network.", DefaultValueFactory = _ => 7 };
        var calibration = new Option<FileInfo?>("--calibration") { Description = "Insert cost model from `pipeline calibrate`." };
        var uncalibrated = new Option<bool>("--uncalibrated") { Description = "Use the built-in guess of insert costs (not for a model you deploy)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for batcher-dqn.weights and batcher-dqn.json.", Required = true };
        var table = new Option<FileInfo?>("--evaluation-out") { Description = "Also write the evaluation table here (e.g. perf-data/batching-sim-latest.json)." };
        var clickHouseUrl = UrlOption.Create("--clickhouse-url", "ClickHouse HTTP URL: record the evaluation in the model performance table.");
        var clickHouseDatabase = new Option<string>("--clickhouse-database") { Description = "Database of the ClickHouse tables.", DefaultValueFactory = _ => "default" };
        var performanceTable = new Option<string>("--clickhouse-table")
        {
            Description = $"Model performance table ({ModelPerformanceTable.DdlFile}).", DefaultValueFactory = _ => ModelPerformanceTable.DefaultName,
        };
        var user = new Option<string?>("--user") { Description = "ClickHouse user." };
        var password = new Option<string?>("--password") { Description = "ClickHouse password." };
        var batcher = new Command("batcher", "Train the Double DQN that picks the ClickHouse insert batch size.")
        {
            episodes, seed, calibration, uncalibrated, output, table, clickHouseUrl, clickHouseDatabase, performanceTable, user, password,
        };
        batcher.SetAction(async (parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            using var clickHouse = parse.GetValue(clickHouseUrl) is { } url
                ? new ClickHouseHttpClient(url, parse.GetValue(clickHouseDatabase)!, parse.GetValue(user), parse.GetValue(password), TimeSpan.FromMinutes(1))
                : null;
            var tracking = clickHouse is null ? null : new ModelPerformanceTable(clickHouse, parse.GetValue(performanceTable)!);
            try
            {
                if (tracking is not null)
                    await tracking.CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelTrackingException e)
            {
                await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 2;
            }
            catch (HttpRequestException e)
            {
                await stderr.WriteLineAsync($"cannot reach ClickHouse at {parse.GetValue(clickHouseUrl)}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            InsertCostModel cost;
            string source;
            if (parse.GetValue(calibration) is { } file)
            {
                cost = InsertCostModel.Load(file.FullName);
                source = file.Name;
            }
            else if (parse.GetValue(uncalibrated))
            {
                cost = InsertCostModel.Uncalibrated;
                source = "uncalibrated (built-in guess)";
            }
            else
            {
                await stderr.WriteLineAsync("--calibration FILE is required (run `pipeline calibrate`), or pass --uncalibrated").ConfigureAwait(false);
                return 2;
            }
            stderr.WriteLine($"torch self-check: ones(2).sum() = {TorchRuntime.SelfCheck()} on {TorchRuntime.Device.type}");
            var options = new TrainerOptions { Episodes = parse.GetValue(episodes), Seed = parse.GetValue(seed), AllowUncalibrated = !cost.Calibrated };
            var trainer = new BatcherTrainer(cost, options);
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
                    CalibrationSource = source, Calibration = cost with { Points = [] }, Reward = options.Reward, Dqn = options.Dqn,
                    Simulator = options.Simulator, TrainingCurve = curve, Evaluation = rows, StaticBest = staticBest, Verdict = verdict,
                };
                BatcherArtifact.Save(parse.GetValue(output)!.FullName, agent, metadata);
                if (parse.GetValue(table) is { } tableFile)
                {
                    var summary = new { metadata.Version, metadata.CreatedAt, metadata.CalibrationSource, metadata.Calibration, metadata.Reward, metadata.StaticBest, metadata.Verdict, Evaluation = rows };
                    await File.WriteAllTextAsync(tableFile.FullName, JsonSerializer.Serialize(summary, InsertCostModel.Json), cancellationToken).ConfigureAwait(false);
                }
                stdout.WriteLine($"{"profile",-11}{"policy",-15}{"rows/s",10}{"p50",8}{"p95",8}{"p99",8}{"ins/s",7}{"reward",9}");
                foreach (var r in rows.Where(r => !r.Policy.StartsWith("static-", StringComparison.Ordinal) || r.Policy == staticBest))
                    stdout.WriteLine($"{r.Profile,-11}{r.Policy,-15}{r.ThroughputRowsPerSecond,10:F0}{r.P50Seconds,8:F3}{r.P95Seconds,8:F3}{r.P99Seconds,8:F3}{r.InsertsPerSecond,7:F2}{r.MeanReward,9:F4}");
                stdout.WriteLine($"trained in {seconds:F1} s; static best = {staticBest}; {verdict}");
                if (tracking is not null)
                {
                    var now = DateTime.UtcNow;
                    List<ModelPerformanceRow> performance =
                        [.. ModelPerformanceReport.ForBatcher(metadata, trainer.TrainingTransitions, ModelPerformanceReport.MeasureInferenceMilliseconds(agent), now)];
                    if (cost.Points.Count > 0)
                        performance.Add(ModelPerformanceReport.ForCostModel(cost, cost.FitQuality(cost.Points), "calibration", now));
                    try
                    {
                        await tracking.WriteAsync(performance, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is HttpRequestException or ClickHouseServerException or TaskCanceledException)
                    {
                        await stderr.WriteLineAsync($"the model is saved, but its performance rows were not written to {clickHouse!.Database}.{parse.GetValue(performanceTable)}: {e.Message}")
                            .ConfigureAwait(false);
                        return 1;
                    }
                    stdout.WriteLine($"{performance.Count} rows -> {clickHouse!.Database}.{parse.GetValue(performanceTable)}");
                }
            }
            return 0;
        });
        return new Command("train", "Train models.") { batcher, CodecCommand.CreateTrain() };
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

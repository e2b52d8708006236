using System.CommandLine;
using System.Text.Json;
using EventPipeline.Models;
using EventPipeline.Models.Partitioning;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Host.Commands;

/// <summary>
/// <c>pipeline train partitioner</c>: trains the PPO fan-out policy in the partitioning simulator, evaluates it beside
/// hash, round-robin, PKG, bounded-load and D-Choices on every workload, and writes a versioned artifact.
/// </summary>
internal static class TrainPartitionerCommand
{
    private sealed record Request(int Episodes, int Seed, int EvaluationSeeds, DirectoryInfo? Evaluate, DirectoryInfo? Output, FileInfo? EvaluationOut, Uri? ClickHouseUrl,
        string Database, string? User, string? Password, string PerformanceTable);

    public static Command Create()
    {
        var episodes = new Option<int>("--episodes")
        {
            Description = "Training episodes (48 decision intervals of 16,384 messages each).", DefaultValueFactory = _ => new PartitionerTrainerOptions().Episodes,
        };
        var seed = new Option<int>("--seed") { Description = "Seed for the episodes, the sampling and the network.", DefaultValueFactory = _ => 7 };
        var evaluationSeeds = new Option<int>("--evaluation-seeds") { Description = "Seeds per evaluation cell.", DefaultValueFactory = _ => 5 };
        var output = new Option<DirectoryInfo?>("--out") { Description = $"Directory for {PartitionerArtifact.WeightsFile} and {PartitionerArtifact.MetadataFile}." };
        var evaluate = new Option<DirectoryInfo?>("--evaluate")
        {
            Description = "Do not train: evaluate the model in this directory beside the classical strategies and print the table.",
        };
        var table = new Option<FileInfo?>("--evaluation-out") { Description = "Also write the evaluation table here as JSON." };
        var tracking = new PerformanceTracking("ClickHouse HTTP URL: the evaluation is recorded in --clickhouse-table.");
        var command = new Command("partitioner", "Train the PPO policy that picks how many partitions each heavy key may use.")
        {
            episodes, seed, evaluationSeeds, output, evaluate, table,
        };
        foreach (var option in tracking.Options)
            command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => TrainAsync(
            new Request(parse.GetValue(episodes), parse.GetValue(seed), parse.GetValue(evaluationSeeds), parse.GetValue(evaluate), parse.GetValue(output),
                parse.GetValue(table), parse.GetValue(tracking.Url), parse.GetValue(tracking.Database)!, parse.GetValue(tracking.User),
                parse.GetValue(tracking.Password), parse.GetValue(tracking.Table)!),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    private static async Task<int> TrainAsync(Request request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (request.Episodes < 1 || request.EvaluationSeeds < 1)
        {
            await stderr.WriteLineAsync("--episodes and --evaluation-seeds must be at least 1").ConfigureAwait(false);
            return 2;
        }
        if ((request.Output is null) == (request.Evaluate is null))
        {
            await stderr.WriteLineAsync("give --out DIR (train a model) or --evaluate DIR (evaluate one), not both").ConfigureAwait(false);
            return 2;
        }
        if (request.Evaluate is { } modelDirectory)
            return await EvaluateAsync(modelDirectory, request.EvaluationSeeds, request.EvaluationOut, stdout, stderr, cancellationToken).ConfigureAwait(false);
        using var clickHouse = request.ClickHouseUrl is { } url
            ? new ClickHouseHttpClient(url, request.Database, request.User, request.Password, TimeSpan.FromMinutes(1))
            : null;
        var tracking = clickHouse is null ? null : new ModelPerformanceTable(clickHouse, request.PerformanceTable);
        // The table is checked before training spends its minutes.
        if (tracking is not null && await PerformanceTracking.CheckAsync(tracking, request.ClickHouseUrl!, stderr, cancellationToken).ConfigureAwait(false) is { } failed)
            return failed;

        stderr.WriteLine($"torch self-check: ones(2).sum() = {TorchRuntime.SelfCheck()} on {TorchRuntime.Device.type}");
        var options = new PartitionerTrainerOptions { Episodes = request.Episodes, Seed = request.Seed };
        var trainer = new PpoTrainer(options);
        var (network, curve, seconds) = trainer.Train(u => stderr.WriteLine(
            $"update {u.Update,3} episodes {u.Episodes,4} reward {u.MeanReward,8:F3} hottest/mean {u.MeanHottestOverMean,7:F3} spread {u.MeanSpread,6:F3} " +
            $"policy {u.PolicyLoss,8:F4} value {u.ValueLoss,8:F4} entropy {u.Entropy:F3}"));
        using (network)
        {
            var policy = new PpoFanOutPolicy(new FanOutInference(network.ExportWeights(), options.Ppo.Hidden));
            stderr.WriteLine($"trained in {seconds:F1} s; evaluating over {request.EvaluationSeeds} seeds per cell");
            var rows = PartitioningEvaluation.Run(policy, options.Reward, request.EvaluationSeeds);
            var verdict = PartitioningEvaluation.Verdict(rows);
            var metadata = new PartitionerMetadata
            {
                Version = $"1.0.0+seed{options.Seed}.ep{options.Episodes}", SchemaHash = FanOutSchema.Hash, Slots = FanOutSchema.Slots,
                Features = FanOutSchema.Features, Actions = FanOutSchema.Actions, RewardVersion = FanOutSchema.RewardVersion, Reward = options.Reward,
                Ppo = options.Ppo, Seed = options.Seed, Episodes = options.Episodes,
                TrainingCommand = $"pipeline train partitioner --out {request.Output!} --seed {request.Seed} --episodes {request.Episodes} --evaluation-seeds {request.EvaluationSeeds}",
                CreatedAt = DateTimeOffset.UtcNow.ToString("O"), TrainingSeconds = Math.Round(seconds, 2), TrainingSamples = trainer.TrainingSamples,
                TrainingCurve = curve, EvaluationSeeds = request.EvaluationSeeds, EvaluationMessages = 64 * 16_384, Evaluation = rows, Verdict = verdict,
            };
            PartitionerArtifact.Save(request.Output!.FullName, network, metadata);
            if (request.EvaluationOut is { } tableFile)
            {
                var summary = new { metadata.Version, metadata.CreatedAt, metadata.TrainingCommand, metadata.Reward, metadata.Verdict, Evaluation = rows };
                await File.WriteAllTextAsync(tableFile.FullName, JsonSerializer.Serialize(summary, PartitionerArtifact.Json), cancellationToken).ConfigureAwait(false);
            }
            foreach (var line in PartitioningEvaluation.Format(rows))
                stdout.WriteLine(line);
            stdout.WriteLine($"trained in {seconds:F1} s; {verdict}");
            if (tracking is null)
                return 0;
            var performance = ModelPerformanceReport.ForPartitioner(metadata, ModelPerformanceReport.MeasureInferenceMilliseconds(policy, 128), DateTime.UtcNow).ToList();
            return await TrainCommand.RecordPerformanceAsync(tracking, performance, stdout, stderr, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<int> EvaluateAsync(DirectoryInfo modelDirectory, int seeds, FileInfo? evaluationOut, TextWriter stdout, TextWriter stderr,
        CancellationToken cancellationToken)
    {
        PpoFanOutPolicy policy;
        FanOutReward reward;
        try
        {
            policy = PpoFanOutPolicy.Load(modelDirectory.FullName);
            reward = PartitionerArtifact.ReadMetadata(modelDirectory.FullName).Reward;
        }
        catch (PartitionerModelException e)
        {
            await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        var rows = PartitioningEvaluation.Run(policy, reward, seeds);
        foreach (var line in PartitioningEvaluation.Format(rows))
            stdout.WriteLine(line);
        var decisionMicroseconds = ModelPerformanceReport.MeasureInferenceMilliseconds(policy, 128) * 1000;
        var verdict = PartitioningEvaluation.Verdict(rows);
        stdout.WriteLine($"model {policy.Version}, {seeds} seeds per cell, one decision (16 heavy keys) {decisionMicroseconds:F1} us; {verdict}");
        if (evaluationOut is not null)
        {
            var summary = new { policy.Version, EvaluatedAt = DateTimeOffset.UtcNow.ToString("O"), Reward = reward, Verdict = verdict, Evaluation = rows };
            await File.WriteAllTextAsync(evaluationOut.FullName, JsonSerializer.Serialize(summary, PartitionerArtifact.Json), cancellationToken).ConfigureAwait(false);
        }
        return 0;
    }
}

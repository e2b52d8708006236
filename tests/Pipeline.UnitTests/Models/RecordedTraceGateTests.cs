using EventPipeline.Models.Batching;

namespace EventPipeline.Tests.Models;

/// <summary>
/// The sim-to-real gate on traces recorded by `bench -- batching` on the real pipeline (the workers' own telemetry and
/// exact latencies, perf-data/batching-PROFILE-trace-latest.json copied to fixtures/): calibrated on the odd repetitions,
/// the simulator must reproduce the even ones.
/// </summary>
public sealed class RecordedTraceGateTests
{
    private const string FixtureDirectory = "tests/Pipeline.UnitTests/Models/fixtures";

    [Theory]
    [InlineData("batching-trace-saturation.json")]
    [InlineData("batching-trace-slow-clickhouse.json")]
    public void The_calibrated_simulator_reproduces_the_runs_it_was_not_fitted_on(string file)
    {
        var trace = RecordedTrace.Read(Fixture(file));
        var calibration = SimulatorCalibration.Fit(trace, [.. trace.Runs.Where(r => r.Repetition % 2 == 1)], "recorded");
        var gate = SimToRealGate.Judge(calibration, trace, [.. trace.Runs.Where(r => r.Repetition % 2 == 0)]);

        Assert.True(gate.StaticPolicies.Count >= 2, "the trace needs two static sizes to check the ranking");
        Assert.True(gate.Passed, $"{trace.Profile}: {gate.Summary}; {calibration.Describe()}");
    }

    private static string Fixture(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FixtureDirectory, file);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"{FixtureDirectory}/{file} not found above {AppContext.BaseDirectory}");
    }
}

using EventPipeline.Host;

namespace EventPipeline.Tests.Operations;

public sealed class HealthStateTests
{
    [Fact]
    public void Not_ready_until_set_ready_and_says_why()
    {
        var health = new HealthState("loading the model");
        Assert.True(health.IsHealthy);
        Assert.Null(health.FailureReason);
        Assert.Equal("loading the model", health.NotReadyReason);

        health.SetReady();
        Assert.True(health.IsReady);
        Assert.Null(health.NotReadyReason);
    }

    [Fact]
    public void A_failure_keeps_its_first_reason_and_ends_readiness_until_recovered()
    {
        var health = new HealthState();
        health.SetReady();
        health.Fail("stage sink failed: boom");
        health.Fail("the pipeline failed: later");
        Assert.False(health.IsHealthy);
        Assert.Equal("stage sink failed: boom", health.FailureReason);
        Assert.Equal("failed: stage sink failed: boom", health.NotReadyReason);

        health.Recover();
        Assert.True(health.IsHealthy);
        Assert.True(health.IsReady);
    }

    [Fact]
    public void The_live_condition_is_asked_at_each_probe()
    {
        string? problem = "inserts into ClickHouse are failing";
        var health = new HealthState("planning", () => problem);
        Assert.Equal("planning", health.NotReadyReason);
        health.SetReady();
        Assert.Equal("inserts into ClickHouse are failing", health.NotReadyReason);
        problem = null;
        Assert.True(health.IsReady);
    }
}

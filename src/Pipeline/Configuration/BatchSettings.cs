namespace EventPipeline.Host.Configuration;

public sealed class BatchSettings
{
    /// <summary>static (Batch:Size), aimd (grow while inserts stay under Batch:TargetLatencyMs, halve when not),
    /// threshold (fill in Batch:TargetLatencyMs at the current arrival rate), dqn (the trained agent at
    /// Batch:ModelPath; static Batch:Size if the model is unusable) or dqn-shadow (Batch:ShadowPolicy acts, the
    /// agent's choices are only exported).</summary>
    public string Policy { get; set; } = "static";

    /// <summary>Directory of a `pipeline train batcher` artifact; empty = the one shipped next to the executable.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The policy that acts in dqn-shadow mode: static, aimd or threshold.</summary>
    public string ShadowPolicy { get; set; } = "static";

    public int MinSize { get; set; } = 1000;
    public int TargetLatencyMs { get; set; } = 1000;
    public int AimdStep { get; set; } = 5000;

    /// <summary>aimd also halves when the oldest row of an acknowledged batch is older than this (produce->ack, ms);
    /// 0 = off (the default: insert time and failures only).</summary>
    public int AimdRowLatencyTargetMs { get; set; }

    /// <summary>100,000 beat 50,000 in every repeat of the e2e bench (perf-data/e2e-latest.json).</summary>
    public int Size { get; set; } = 100_000;
    public int MaxLatencyMs { get; set; } = 500;
    public int MaxSize { get; set; } = 200_000;

    /// <summary>No flush sooner than this after the previous one, whatever the policy or the MaxLatencyMs timer says (the
    /// batch keeps filling, up to MaxSize): at most 1000/this inserts a second per worker. At-least-once only; 0 = off (the default).</summary>
    public int MinInsertIntervalMs { get; set; }
}

using System.Diagnostics;
using Confluent.Kafka;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// (a) The consume ceiling: a bare group consumer, configured like the pipeline's source (fresh group, earliest,
/// cooperative-sticky, no auto commit), that only reads every message value. Timed from Subscribe, so the group
/// join is included as it is for the pipeline.
/// </summary>
internal sealed class ConsumeCeiling : IContender
{
    public string Name => "consume_ceiling";
    public string Description => "bare Confluent.Kafka group consumer reading all values, no decode";

    public Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct) => Task.Run(() => Run(context, ct), ct);

    private static ContenderRun Run(E2eContext context, CancellationToken ct)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = context.Kafka.BootstrapServers,
            GroupId = E2eContext.Unique("bench_consume"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        var clock = Stopwatch.StartNew();
        consumer.Subscribe(E2eContext.Topic);
        long count = 0, bytes = 0;
        while (count < context.Events)
        {
            ct.ThrowIfCancellationRequested();
            if (clock.Elapsed > context.Options.ContenderTimeout)
                throw new TimeoutException($"consumed {count} of {context.Events}");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is { } message)
            {
                count++;
                bytes += message.Value.Length;
            }
        }
        var elapsed = clock.Elapsed;
        consumer.Close();
        return new ContenderRun(elapsed.TotalSeconds, $"{bytes / (1 << 20)} MiB of values");
    }
}

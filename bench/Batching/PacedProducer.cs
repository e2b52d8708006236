using System.Diagnostics;
using Confluent.Kafka;
using EventPipeline.Bench.E2e;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// Produces generated events round-robin at the rate <see cref="BenchLoad"/> asks for at each moment (the due count
/// is the integral of the rate, caught up every few milliseconds), while the worker consumes. The message
/// timestamp (CreateTime, set when produced) starts each row's end-to-end latency.
/// </summary>
internal sealed class PacedProducer
{
    private long _produced;

    public long Produced => Interlocked.Read(ref _produced);

    public async Task RunAsync(string bootstrap, string topic, int partitions, BenchLoad load, CancellationToken ct)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap, Acks = Acks.All, EnableIdempotence = true, LingerMs = 2,
            BatchNumMessages = 10_000, QueueBufferingMaxMessages = 500_000,
        };
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();
        var generator = new EventGenerator(TopicLoader.Generator);
        Error? failure = null;
        Action<DeliveryReport<Null, byte[]>> onDelivery = r => failure ??= r.Error.IsError ? r.Error : null;
        var clock = Stopwatch.StartNew();
        double due = 0, last = 0;
        long i = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var now = clock.Elapsed.TotalSeconds;
            if (now >= load.Seconds)
                break;
            // Midpoint rule over the elapsed slice: exact enough at a few ms per slice.
            due += load.Rate((last + now) / 2) * (now - last);
            last = now;
            while (i < (long)due)
            {
                var message = new Message<Null, byte[]> { Value = generator.Next().Payload };
                try
                {
                    producer.Produce(new TopicPartition(topic, new Partition((int)(i % partitions))), message, onDelivery);
                    i++;
                    Interlocked.Exchange(ref _produced, i);
                }
                catch (ProduceException<Null, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(5));
                }
            }
            await Task.Delay(2, ct);
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            ct.ThrowIfCancellationRequested();
        if (failure is not null)
            throw new KafkaException(failure);
    }
}

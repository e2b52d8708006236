using System.Diagnostics;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.DevTools.Generation;

/// <param name="RatePerSecond">Events per second; 0 produces as fast as the broker takes them.</param>
/// <param name="RoundRobin">Spread messages evenly over partitions instead of keying by app_id (the librdkafka mock
/// keeps only ~5 MiB per partition, so skewed keys can overflow a hot partition in large runs).</param>
public sealed record ProduceRequest(string BootstrapServers, string Topic, long Events, EventGeneratorOptions Generator,
    double RatePerSecond = 0, bool RoundRobin = false, IReadOnlyDictionary<string, string>? ClientProperties = null);

public sealed record ProduceSummary(long Produced, long Malformed, TimeSpan Elapsed);

/// <summary>Produces generated events to Kafka, acks=all with idempotence, optionally at a fixed rate.</summary>
public static class EventProducer
{
    public static async Task<ProduceSummary> ProduceAsync(ProduceRequest request, Action<long>? progress, CancellationToken cancellationToken)
    {
        var config = ReliableProducerConfig.Create(request.BootstrapServers, "generate", request.ClientProperties, tune: c =>
        {
            c.BatchNumMessages = 10_000;
            c.QueueBufferingMaxMessages = 500_000;
            c.CompressionType = CompressionType.None;
        });

        using var producer = new ProducerBuilder<byte[]?, byte[]>(config).Build();
        var partitions = request.RoundRobin ? PartitionCount(producer, request.Topic) : 0;
        var generator = new EventGenerator(request.Generator);
        long failed = 0, malformed = 0;
        Error? firstError = null;
        var clock = Stopwatch.StartNew();
        Action<DeliveryReport<byte[]?, byte[]>> onDelivery = report =>
        {
            if (report.Error.IsError && Interlocked.Increment(ref failed) == 1)
                firstError = report.Error;
        };

        for (long i = 0; i < request.Events; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var generated = generator.Next();
            if (generated.IsMalformed)
                malformed++;
            var message = new Message<byte[]?, byte[]>
            {
                // Round-robin means unkeyed: dead letters and anything else keyed like the source then spread evenly too.
                Key = request.RoundRobin || generated.Key is null ? null : System.Text.Encoding.UTF8.GetBytes(generated.Key),
                Value = generated.Payload,
            };
            while (true)
            {
                try
                {
                    if (partitions > 0)
                        producer.Produce(new TopicPartition(request.Topic, new Partition((int)(i % partitions))), message, onDelivery);
                    else
                        producer.Produce(request.Topic, message, onDelivery);
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
            if ((i & 1023) == 1023)
            {
                progress?.Invoke(i + 1);
                if (request.RatePerSecond > 0)
                {
                    var ahead = TimeSpan.FromSeconds((i + 1) / request.RatePerSecond) - clock.Elapsed;
                    if (ahead > TimeSpan.FromMilliseconds(1))
                        await Task.Delay(ahead, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            cancellationToken.ThrowIfCancellationRequested();
        progress?.Invoke(request.Events);
        if (failed > 0)
            throw new KafkaException(firstError!);
        return new ProduceSummary(request.Events, malformed, clock.Elapsed);
    }

    private static int PartitionCount(IProducer<byte[]?, byte[]> producer, string topic)
    {
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var count = metadata.Topics.SingleOrDefault(t => t.Topic == topic)?.Partitions.Count ?? 0;
        if (count == 0)
            throw new InvalidOperationException($"Topic '{topic}' has no partitions (does it exist?)");
        return count;
    }
}

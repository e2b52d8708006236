using System.Diagnostics;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Partitioning;
using EventPipeline.DevTools.Events;

namespace EventPipeline.DevTools.Generation;

/// <param name="RatePerSecond">Events per second; 0 produces as fast as the broker takes them.</param>
/// <param name="RoundRobin">Unkeyed messages spread evenly over partitions (the librdkafka mock keeps only ~5 MiB per
/// partition, so skewed keys can overflow a hot partition in large backlogs).</param>
/// <param name="Partitioning">Keyed by app_id, placed by this strategy instead of librdkafka's hash; null: librdkafka's.</param>
/// <param name="LearnedPolicy">The policy of <see cref="PartitionStrategy.Learned"/>.</param>
/// <param name="AppWeightsAt">Called every 1024 messages with the run's progress (0..1): new app weights for
/// <see cref="EventGenerator.SetAppWeights"/>, or null to keep the current ones (a bench's flash crowd or moving hot apps).</param>
public sealed record ProduceRequest(string BootstrapServers, string Topic, long Events, EventGeneratorOptions Generator,
    double RatePerSecond = 0, bool RoundRobin = false, IReadOnlyDictionary<string, string>? ClientProperties = null,
    PartitionerOptions? Partitioning = null, IFanOutPolicy? LearnedPolicy = null, Func<double, double[]?>? AppWeightsAt = null);

/// <param name="Partitioner">The partitioner that placed the messages (its counts), when <see cref="ProduceRequest.Partitioning"/> was set.</param>
/// <param name="KeySpread">On how many partitions each app_id landed, when <see cref="ProduceRequest.Partitioning"/> was set.</param>
public sealed record ProduceSummary(long Produced, long Malformed, TimeSpan Elapsed, ProducerPartitioner? Partitioner = null, KeySpread? KeySpread = null);

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

        if (request.RoundRobin && request.Partitioning is not null)
            throw new ArgumentException("RoundRobin (unkeyed) and Partitioning (keyed) exclude each other", nameof(request));
        using var producer = new ProducerBuilder<byte[]?, byte[]>(config).Build();
        var partitions = request.RoundRobin || request.Partitioning is not null ? TopicPartitionCount.Of(producer.Handle, request.Topic) : 0;
        var partitioner = request.Partitioning?.Create(partitions, request.LearnedPolicy);
        var keySpread = partitioner is null ? null : new KeySpread();
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
            if ((i & 1023) == 0 && request.AppWeightsAt?.Invoke((double)i / request.Events) is { } weights)
                generator.SetAppWeights(weights);
            var generated = generator.Next();
            if (generated.IsMalformed)
                malformed++;
            var message = new Message<byte[]?, byte[]>
            {
                // Round-robin means unkeyed: dead letters and anything else keyed like the source then spread evenly too.
                Key = request.RoundRobin || generated.Key is null ? null : System.Text.Encoding.UTF8.GetBytes(generated.Key),
                Value = generated.Payload,
            };
            int partition = -1;
            if (partitioner is not null)
            {
                partition = partitioner.Choose(message.Key);
                if (generated.Key is not null)
                    keySpread!.Record(generated.Key, partition);
            }
            else if (partitions > 0)
            {
                partition = (int)(i % partitions);
            }
            while (true)
            {
                try
                {
                    if (partition >= 0)
                        producer.Produce(new TopicPartition(request.Topic, new Partition(partition)), message, onDelivery);
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
        return new ProduceSummary(request.Events, malformed, clock.Elapsed, partitioner, keySpread);
    }
}

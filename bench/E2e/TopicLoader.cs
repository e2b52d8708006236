using Confluent.Kafka;
using EventPipeline.DevTools.Generation;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.E2e;

/// <summary>Fills the benchmark topics once and proves that the mock cluster kept every message.</summary>
internal static class TopicLoader
{
    /// <summary>The mock keeps ~5 MiB per partition and silently drops older data beyond that.</summary>
    public const long MockPartitionBytes = 5L << 20;

    public static EventGeneratorOptions Generator => new() { Seed = 42, MalformedFraction = 0, ProtobufFraction = 0 };

    public static async Task<ProduceSummary> ProduceEventsAsync(string bootstrap, string topic, long events, CancellationToken ct) =>
        await EventProducer.ProduceAsync(new ProduceRequest(bootstrap, topic, events, Generator, RoundRobin: true), null, ct);

    /// <summary>
    /// The same events, in the same order, as <see cref="PeerJson"/>: the generator is replayed and our decoder
    /// turns each payload back into the event. Message i goes to partition i % partitions, at offset i / partitions.
    /// </summary>
    public static IEnumerable<byte[]> PeerPayloads(long events, int partitions)
    {
        var generator = new EventGenerator(Generator);
        var decoder = new EventDecoder(new EventDecoderOptions());
        for (long i = 0; i < events; i++)
        {
            var message = generator.Next();
            var decoded = decoder.Decode(message.Payload);
            if (!decoded.IsSuccess)
                throw new InvalidOperationException($"generated event {i} does not decode: {decoded.Error}");
            yield return PeerJson.Write(decoded.Event, (int)(i % partitions), i / partitions);
        }
    }

    /// <summary>Partitions the peer topic needs to stay under the mock's per-partition limit, from a sample.</summary>
    public static int PeerPartitions(long events, int minimum)
    {
        const int sample = 20_000;
        var bytes = PeerPayloads(Math.Min(sample, events), minimum).Sum(p => (long)p.Length + 70); // + record overhead
        var total = bytes * (double)events / Math.Min(sample, events);
        return Math.Max(minimum, (int)Math.Ceiling(total / (MockPartitionBytes * 0.85)));
    }

    public static void ProducePeer(string bootstrap, string topic, long events, int partitions, CancellationToken ct)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap, Acks = Acks.All, EnableIdempotence = true, LingerMs = 5,
            BatchNumMessages = 10_000, QueueBufferingMaxMessages = 500_000,
        };
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();
        Error? failure = null;
        long i = 0;
        foreach (var payload in PeerPayloads(events, partitions))
        {
            ct.ThrowIfCancellationRequested();
            Produce(producer, new TopicPartition(topic, new Partition((int)(i++ % partitions))), new Message<Null, byte[]> { Value = payload },
                r => failure ??= r.Error.IsError ? r.Error : null);
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            ct.ThrowIfCancellationRequested();
        if (failure is not null)
            throw new KafkaException(failure);
    }

    /// <summary>Produces one message, serving delivery reports while the client's queue is full instead of failing.</summary>
    public static void Produce<TKey>(IProducer<TKey, byte[]> producer, TopicPartition target, Message<TKey, byte[]> message, Action<DeliveryReport<TKey, byte[]>> onDelivery)
    {
        while (true)
        {
            try
            {
                producer.Produce(target, message, onDelivery);
                return;
            }
            catch (ProduceException<TKey, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>Throws unless every partition still starts at offset 0 and the high watermarks add up to <paramref name="events"/>.</summary>
    public static void VerifyComplete(string bootstrap, string topic, int partitions, long events)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-verify" }).Build();
        long total = 0;
        for (var p = 0; p < partitions; p++)
        {
            var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(topic, new Partition(p)), TimeSpan.FromSeconds(10));
            if (offsets.Low.Value != 0)
                throw new InvalidOperationException($"{topic}[{p}] starts at offset {offsets.Low.Value}: the mock dropped data (over ~5 MiB per partition)");
            total += offsets.High.Value;
        }
        if (total != events)
            throw new InvalidOperationException($"{topic} holds {total} messages, expected {events}");
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// 100,000 broken payloads among 20,000 good events, in exactly-once mode: the worker stays up and healthy, every
/// broken payload reaches the dead-letter topic byte for byte with a reason, and every good event is inserted once.
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class FuzzedPayloadsTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    // Enough partitions to stay far below the mock's ~100,000 messages / 5 MiB per partition, in both topics.
    private const int Partitions = 40;
    private const int GoodCount = 20_000;
    private const int BadCount = 100_000;
    private const int MaxMessageBytes = 4096;

    // Confluent framing: magic byte, 4-byte schema id, message index [0] as one byte.
    private const int ProtobufHeaderBytes = 6;

    // Protobuf field 1 (event_id, 36 characters) comes first: a cut within its tag, length and text always leaves
    // the message unreadable, whereas a cut between two fields could leave a shorter valid message.
    private const int EventIdFieldBytes = 2 + 36;

    private static readonly string[] StringFields = ["app_id", "user_id", "event_name", "device_id"];

    [Fact]
    public async Task Every_fuzzed_payload_is_dead_lettered_with_a_reason_and_every_good_event_inserted_once()
    {
        // ~80 MB of dead letters: room for them under the embedded broker's ~5 MiB per partition.
        var topic = FaultScenario.CreateTopics(kafka, Partitions, deadLetterPartitions: 2 * Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var random = new Random(47);
        var good = EndToEnd.Generate(GoodCount, new EventGeneratorOptions { Seed = 47, ProtobufFraction = 0.3 }).Select(m => m.Payload).ToList();
        Assert.All(good, payload => Assert.InRange(payload.Length, 1, MaxMessageBytes));
        var bad = Fuzz(random).ToList();
        var stream = good.Concat(bad).ToArray();
        random.Shuffle(stream);
        kafka.ProduceAll(topic, stream);

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output, new Dictionary<string, string?>
        {
            ["Kafka:GroupId"] = $"group-{Guid.NewGuid():N}",
            ["Delivery:Guarantee"] = "ExactlyOnce",
            ["Decode:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Batch:Size"] = "2000",
        });
        await FaultScenario.WaitForEverythingAsync(kafka, clickHouse.Server, table, topic, GoodCount, BadCount, () => worker.Run.IsCompleted);
        Assert.False(worker.Run.IsCompleted, $"the worker stopped: {worker.Run.Exception}");
        Assert.True(worker.Worker.IsHealthy, "the worker reports itself unhealthy");
        await worker.StopAsync(); // throws if the pipeline failed

        await FaultScenario.AssertExactlyOnceAsync(output, kafka, clickHouse.Server, table, topic, GoodCount, BadCount);
        // Byte for byte: the dead letters (one per source offset) are exactly the fuzzed payloads.
        var letters = (await FaultScenario.ReadDeadLettersAsync(kafka, $"{topic}.dlq")).DistinctBy(l => (l.Partition, l.Offset));
        Assert.Equal(Fingerprints(bad), Fingerprints(letters.Select(l => l.Value)));
    }

    /// <summary>Broken payloads of every kind, drawn with <paramref name="random"/> so that a failure can be replayed.</summary>
    private static IEnumerable<byte[]> Fuzz(Random random)
    {
        var source = new EventGenerator(new EventGeneratorOptions { Seed = 53 });
        var malformed = new EventGenerator(new EventGeneratorOptions { Seed = 59, MalformedFraction = 1, ProtobufFraction = 0.3 });
        for (var i = 0; i < BadCount; i++)
        {
            var roll = random.Next(100);
            yield return roll switch
            {
                < 20 => RandomBytes(random),
                < 38 => TruncatedJson(random, source.NextEvent()),
                < 53 => TruncatedProtobuf(random, source.NextEvent()),
                < 70 => WrongType(random, source.NextEvent()),
                < 88 => malformed.Next().Payload, // the generator's own catalogue: missing field, bad UUID, duplicate field...
                < 94 => Oversize(random, source.NextEvent()),
                _ => [],
            };
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(1, 512)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A JSON object cut before its closing brace.</summary>
    private static byte[] TruncatedJson(Random random, AnalyticsEvent evt)
    {
        var json = EventJsonWriter.Write(evt);
        return json[..random.Next(1, json.Length - 1)];
    }

    private static byte[] TruncatedProtobuf(Random random, AnalyticsEvent evt)
    {
        var framed = EventGenerator.ToProtobufFramed(evt);
        return framed[..(ProtobufHeaderBytes + random.Next(1, EventIdFieldBytes))];
    }

    /// <summary>A good JSON event with one field of the wrong JSON type.</summary>
    private static byte[] WrongType(Random random, AnalyticsEvent evt)
    {
        var json = JsonNode.Parse(EventJsonWriter.Write(evt))!.AsObject();
        JsonNode[] notStrings = [JsonValue.Create(12345), new JsonArray(), new JsonObject(), JsonValue.Create(true)];
        switch (random.Next(3))
        {
            case 0:
                json[StringFields[random.Next(StringFields.Length)]] = notStrings[random.Next(notStrings.Length)];
                break;
            case 1:
                json["event_timestamp"] = random.Next(2) == 0 ? new JsonArray(1, 2) : JsonValue.Create(false);
                break;
            default:
                json["properties"] = random.Next(2) == 0 ? JsonValue.Create(7) : new JsonArray("a");
                break;
        }
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>A valid event padded with whitespace past Decode:MaxMessageBytes: only its size is wrong.</summary>
    private static byte[] Oversize(Random random, AnalyticsEvent evt)
    {
        var json = EventJsonWriter.Write(evt);
        var padded = new byte[MaxMessageBytes + 1 + random.Next(2048)];
        json.CopyTo(padded, 0);
        padded.AsSpan(json.Length).Fill((byte)' ');
        return padded;
    }

    private static List<string> Fingerprints(IEnumerable<byte[]> payloads) =>
        [.. payloads.Select(p => Convert.ToHexString(SHA256.HashData(p))).Order(StringComparer.Ordinal)];
}

using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>Decode:ProtobufSchemaIds: Confluent-framed Protobuf with a schema id not listed is dead-lettered as unknown_schema.</summary>
public sealed class ProtobufSchemaIdAllowListTests
{
    private static byte[] Framed(int schemaId) =>
        new EventGenerator(new EventGeneratorOptions { Seed = 3, ProtobufFraction = 1, SchemaId = schemaId }).Next().Payload;

    [Fact]
    public void Listed_ids_decode_and_others_are_rejected_naming_the_id()
    {
        var decoder = new EventDecoder(new EventDecoderOptions { ProtobufSchemaIds = [1, 7] });

        Assert.True(decoder.Decode(Framed(1)).IsSuccess);
        Assert.True(decoder.Decode(Framed(7)).IsSuccess);
        var rejected = decoder.Decode(Framed(9));
        Assert.False(rejected.IsSuccess);
        Assert.Equal(new DecodeError(DecodeErrorKind.UnknownSchema, "Protobuf schema id 9 is not in Decode:ProtobufSchemaIds"), rejected.Error);
        // JSON is not framed and is not affected.
        Assert.True(decoder.Decode(EventJsonWriter.Write(new EventGenerator(new EventGeneratorOptions { Seed = 3 }).NextEvent())).IsSuccess);
    }

    [Fact]
    public void An_empty_list_accepts_any_schema_id_as_before()
    {
        var decoder = new EventDecoder(new EventDecoderOptions());

        Assert.True(decoder.Decode(Framed(9)).IsSuccess);
        Assert.True(decoder.Decode(Framed(123_456)).IsSuccess);
        Assert.Empty(decoder.Options.ProtobufSchemaIds);
    }

    [Fact]
    public async Task The_decode_stage_dead_letters_it_with_kind_unknown_schema()
    {
        var stage = new DecodeStage(new DecodeStageOptions(), new EventDecoder(new EventDecoderOptions { ProtobufSchemaIds = [1] }),
            new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()));
        var lease = new PartitionLease(new Confluent.Kafka.TopicPartition("events", 0));
        var message = new PipelineMessage(lease, 42, lease.Offsets.Register(42), null, Framed(2), null, 0);

        Assert.True(await stage.Block.SendAsync(new[] { message }));
        var decoded = Assert.Single(await stage.Block.ReceiveAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(new DeadLetterReason("decode", "unknown_schema", "Protobuf schema id 2 is not in Decode:ProtobufSchemaIds"), decoded.Failure);
        Assert.Null(decoded.Event);
    }

    private static PipelineSettings Load(string? ids, string? arrayItem = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "localhost:9092",
            ["Kafka:Topic"] = "events",
            ["ClickHouse:Url"] = "http://localhost:8123",
        };
        if (ids is not null)
            values["Decode:ProtobufSchemaIds"] = ids;
        if (arrayItem is not null)
            values["Decode:ProtobufSchemaIds:0"] = arrayItem;
        return PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }

    [Theory]
    [InlineData(null, new int[0])]
    [InlineData("", new int[0])]
    [InlineData("5", new[] { 5 })]
    [InlineData(" 1, 7 ,1,", new[] { 1, 7 })]
    public void Configuration_reads_a_comma_separated_list(string? ids, int[] expected) =>
        Assert.Equal(expected, Load(ids).Decode.ParseProtobufSchemaIds());

    [Theory]
    [InlineData("1,two", "Decode:ProtobufSchemaIds: 'two' is not a schema id (comma-separated non-negative integers, e.g. 1,7)")]
    [InlineData("-3", "Decode:ProtobufSchemaIds: '-3' is not a schema id (comma-separated non-negative integers, e.g. 1,7)")]
    [InlineData("99999999999", "Decode:ProtobufSchemaIds: '99999999999' is not a schema id (comma-separated non-negative integers, e.g. 1,7)")]
    public void A_bad_value_stops_the_start_naming_the_key(string ids, string message) =>
        Assert.Equal(message, Assert.Throws<ConfigurationException>(() => Load(ids)).Message);

    [Fact]
    public void An_array_is_refused_naming_the_key() =>
        Assert.Equal("Decode:ProtobufSchemaIds must be one comma-separated string of schema ids, not an array",
            Assert.Throws<ConfigurationException>(() => Load(null, arrayItem: "1")).Message);
}

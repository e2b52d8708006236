using BenchmarkDotNet.Attributes;
using EventPipeline.Host;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.Micro;

/// <summary>
/// The per-message hot path over a fixed array of 1,000 generated events: decode JSON, decode Confluent-framed
/// Protobuf, and RowBinary-encode one row into a <see cref="PooledBufferWriter"/> (reset every 1,000 rows).
/// OperationsPerInvoke makes every figure per event: ns/op and allocated bytes per row.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private const int Count = 1000;

    private byte[][] _json = [];
    private byte[][] _protobuf = [];
    private AnalyticsEvent[] _events = [];
    private EventDecoder _decoder = null!;
    private EventRowEncoder _encoder = null!;
    private readonly PooledBufferWriter _buffer = new();

    [GlobalSetup]
    public void Setup()
    {
        _json = Generate(new EventGeneratorOptions { Seed = 7, ProtobufFraction = 0 });
        _protobuf = Generate(new EventGeneratorOptions { Seed = 7, ProtobufFraction = 1 });
        var mapping = TableMapping.Create(EventsTableSchema());
        _decoder = new EventDecoder(new EventDecoderOptions { PropertyColumns = mapping.PropertyColumns });
        _encoder = new EventRowEncoder(mapping);
        _events = [.. _json.Select(p => _decoder.Decode(p).Event ?? throw new InvalidOperationException("undecodable event"))];
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark(OperationsPerInvoke = Count)]
    public int DecodeJson()
    {
        var ok = 0;
        foreach (var payload in _json)
            ok += _decoder.Decode(payload).IsSuccess ? 1 : 0;
        return ok;
    }

    [Benchmark(OperationsPerInvoke = Count)]
    public int DecodeProtobuf()
    {
        var ok = 0;
        foreach (var payload in _protobuf)
            ok += _decoder.Decode(payload).IsSuccess ? 1 : 0;
        return ok;
    }

    [Benchmark(OperationsPerInvoke = Count)]
    public long EncodeRowBinary()
    {
        _buffer.Reset();
        for (var i = 0; i < _events.Length; i++)
        {
            var source = new KafkaCoordinates("events", i & 127, i, 0);
            if (!_encoder.TryEncode(_buffer, _events[i], source, out var error))
                throw new InvalidOperationException(error);
        }
        return _buffer.Length;
    }

    private static byte[][] Generate(EventGeneratorOptions options)
    {
        var generator = new EventGenerator(options);
        return [.. Enumerable.Range(0, Count).Select(_ => generator.Next().Payload)];
    }

    /// <summary>The product's events table as DESCRIBE TABLE would return it, without a server.</summary>
    private static TableSchema EventsTableSchema()
    {
        var ddl = EventsTable.CreateStatement("t");
        var body = ddl[(ddl.IndexOf('(') + 1)..ddl.IndexOf(") ENGINE", StringComparison.Ordinal)];
        var rows = body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.TrimEnd(','))
            .Where(line => line.Length > 0)
            .Select(line => line.Split(' ', 2) is [var name, var type] ? $"{name}\t{type}\t\t" : throw new FormatException(line));
        return TableSchema.ParseDescribe(string.Join('\n', rows) + "\n");
    }
}

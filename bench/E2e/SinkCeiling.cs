using System.Diagnostics;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// (b) The sink ceiling: the same rows, decoded and RowBinary-encoded up front (not timed) into batches with the
/// product's <see cref="EventRowEncoder"/>, then only the HTTP inserts are timed, as many at once as the pipeline
/// allows (ClickHouse:MaxConcurrentInserts).
/// </summary>
internal sealed class SinkCeiling : IContender
{
    public string Name => "sink_ceiling";
    public string Description => "bare RowBinary HTTP inserts of pre-encoded batches (encode not timed)";

    public async Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct)
    {
        var table = E2eContext.Unique("sink");
        await context.CreateEventsTableAsync(table, ct);
        var mapping = TableMapping.Create(await context.Client.DescribeTableAsync(table, ct));
        var batches = await Task.Run(() => Encode(context, mapping), ct);
        try
        {
            var insert = mapping.BuildInsertQuery(E2eContext.Database, table);
            using var gate = new SemaphoreSlim(context.Options.MaxConcurrentInserts);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(batches.Select(async batch =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    using var body = batch.CreateHttpContent();
                    await context.Client.InsertAsync(insert, body, ct);
                }
                finally
                {
                    gate.Release();
                }
            }));
            var elapsed = clock.Elapsed;
            var count = await context.CountAsync(table, ct);
            if (count != context.Events)
                throw new InvalidOperationException($"sink ceiling inserted {count} rows, expected {context.Events}");
            return new ContenderRun(elapsed.TotalSeconds, $"{batches.Count} batches, {batches.Sum(b => b.Length) / (1 << 20)} MiB RowBinary");
        }
        finally
        {
            foreach (var batch in batches)
                batch.Dispose();
            await context.DropTableAsync(table, ct);
        }
    }

    private static List<PooledBufferWriter> Encode(E2eContext context, TableMapping mapping)
    {
        var generator = new EventGenerator(TopicLoader.Generator);
        var decoder = new EventDecoder(new EventDecoderOptions { PropertyColumns = mapping.PropertyColumns });
        var encoder = new EventRowEncoder(mapping);
        var partitions = context.Options.Partitions;
        var batches = new List<PooledBufferWriter>();
        PooledBufferWriter? current = null;
        for (long i = 0; i < context.Events; i++)
        {
            if (i % context.Options.SinkBatchRows == 0)
                batches.Add(current = new PooledBufferWriter());
            var decoded = decoder.Decode(generator.Next().Payload);
            if (!decoded.IsSuccess)
                throw new InvalidOperationException($"event {i}: {decoded.Error}");
            var source = new KafkaCoordinates(E2eContext.Topic, (int)(i % partitions), i / partitions, 0);
            if (!encoder.TryEncode(current!, decoded.Event, source, out var error))
                throw new InvalidOperationException($"event {i}: {error}");
        }
        return batches;
    }
}

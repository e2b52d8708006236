using System.Diagnostics;
using System.Net;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>
/// What ClickHouse 18.16's ReplicatedMergeTree deduplication guarantees to a writer that retries an INSERT with the
/// very same RowBinary bytes: the basis of exactly-once delivery. Real ZooKeeper, real server, a fresh table each.
/// </summary>
/// <remarks>
/// Deduplication is per part, not per INSERT: the server hashes each block it writes, and an INSERT becomes one
/// block per partition (per month of event_date here) and per max_insert_block_size rows; a block whose
/// partition and hash ZooKeeper already holds (among the last replicated_deduplication_window = 100 blocks,
/// default) is dropped silently with HTTP 200. A retry is therefore deduplicated only if the server cuts it into
/// the same blocks as the first try. An INSERT under max_insert_block_size rows (1,048,576 by default) that is cut
/// off commits nothing, so its retry is safe. Seen once with max_insert_block_size = 1000 and a body that stalled
/// half-way: the 2500 rows received were committed as their own part, and the retry (one 5000-row part) was not
/// deduplicated: 7500 rows. Keep each batch below max_insert_block_size and never lower that setting.
/// </remarks>
[Collection(ReplicatedClickHouseCollection.Name)]
public sealed class ReplicatedDeduplicationTests(ReplicatedClickHouseFixture fixture)
{
    private static readonly DateTimeOffset January = new(2024, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset February = new(2024, 2, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_same_block_sent_twice_is_stored_once_and_a_different_block_is_kept()
    {
        var table = await fixture.CreateReplicatedEventsTableAsync();
        using var client = fixture.CreateClient();
        var batch = await EncodeAsync(client, table, Events(January, firstOffset: 0, count: 100));
        var other = await EncodeAsync(client, table, Events(January, firstOffset: 100, count: 100));

        await client.InsertAsync(batch.Query, new ByteArrayContent(batch.Body), CancellationToken.None);
        await client.InsertAsync(batch.Query, new ByteArrayContent(batch.Body), CancellationToken.None);
        Assert.Equal(100, await fixture.Server.CountAsync(table));

        await client.InsertAsync(other.Query, new ByteArrayContent(other.Body), CancellationToken.None);
        Assert.Equal(200, await fixture.Server.CountAsync(table));
    }

    [Fact]
    public async Task A_block_spanning_two_months_is_deduplicated_part_by_part()
    {
        var table = await fixture.CreateReplicatedEventsTableAsync();
        using var client = fixture.CreateClient();
        var twoMonths = await EncodeAsync(client, table, [.. Events(January, 0, 50), .. Events(February, 50, 50)]);

        await client.InsertAsync(twoMonths.Query, new ByteArrayContent(twoMonths.Body), CancellationToken.None);
        await client.InsertAsync(twoMonths.Query, new ByteArrayContent(twoMonths.Body), CancellationToken.None);
        Assert.Equal(100, await fixture.Server.CountAsync(table));
        Assert.Equal("2\n", await fixture.Server.QueryAsync($"SELECT count() FROM system.parts WHERE database = 'default' AND table = '{table}' AND active"));

        // A different INSERT whose January rows equal the first one's: its January part is dropped as a
        // duplicate and only February's rows land. Harmless for the pipeline (every row carries its own Kafka
        // offset), but it shows the unit of deduplication is the part.
        var sameJanuary = await EncodeAsync(client, table, [.. Events(January, 0, 50), .. Events(February, 150, 50)]);
        await client.InsertAsync(sameJanuary.Query, new ByteArrayContent(sameJanuary.Body), CancellationToken.None);
        Assert.Equal(150, await fixture.Server.CountAsync(table));
    }

    [Fact]
    public async Task A_retry_after_the_server_was_killed_and_restarted_is_still_deduplicated()
    {
        var table = await fixture.CreateReplicatedEventsTableAsync();
        using var client = fixture.CreateClient();
        var batch = await EncodeAsync(client, table, Events(January, 0, 100));
        await client.InsertAsync(batch.Query, new ByteArrayContent(batch.Body), CancellationToken.None);

        fixture.Server.Kill();
        await fixture.Server.StartAgainAsync();
        await InsertUntilAcceptedAsync(client, batch);

        Assert.Equal(100, await fixture.Server.CountAsync(table));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_insert_cut_off_by_a_kill_mid_stream_and_retried_stores_every_row_once(bool contentLength)
    {
        var table = await fixture.CreateReplicatedEventsTableAsync();
        using var client = fixture.CreateClient();
        var batch = await EncodeAsync(client, table, Events(January, 0, 5000));

        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cutOff = client.InsertAsync(batch.Query, new GatedContent(batch.Body, batch.Body.Length / 2, rest.Task, contentLength), CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var committed = await fixture.Server.CountAsync(table);
        fixture.Server.Kill();
        rest.SetResult();
        await Assert.ThrowsAsync<HttpRequestException>(() => cutOff);

        await fixture.Server.StartAgainAsync();
        await InsertUntilAcceptedAsync(client, batch);

        // Rows arrived but formed no block yet: an INSERT under max_insert_block_size rows commits all or nothing.
        Assert.Equal(0, committed);
        Assert.Equal(5000, await fixture.Server.CountAsync(table));
        Assert.Equal("5000\n", await fixture.Server.QueryAsync($"SELECT uniqExact(kafka_offset) FROM default.{table}"));
    }

    [Fact]
    public async Task The_engine_and_the_deduplication_window_can_be_read_back_from_system_tables()
    {
        var table = await fixture.CreateReplicatedEventsTableAsync(settings: "replicated_deduplication_window = 1000");

        var row = await fixture.Server.QueryAsync(
            $"SELECT engine, engine_full FROM system.tables WHERE database = 'default' AND name = '{table}' FORMAT TabSeparated");

        var columns = row.TrimEnd('\n').Split('\t');
        Assert.Equal("ReplicatedMergeTree", columns[0]);
        Assert.StartsWith($@"ReplicatedMergeTree(\'/clickhouse/tables/{{shard}}/{table}\', \'{{replica}}\') PARTITION BY toYYYYMM(event_date)", columns[1]);
        Assert.EndsWith("SETTINGS replicated_deduplication_window = 1000, index_granularity = 8192", columns[1]);
    }

    [Fact]
    public async Task Too_many_parts_is_refused_with_code_252()
    {
        // Both thresholds at 1: the check returns early while parts < parts_to_delay_insert (default 150), so
        // lowering parts_to_throw_insert alone never throws; with both at 1 the second part is refused.
        var table = $"parts_{Guid.NewGuid():N}";
        await fixture.Server.QueryAsync(
            $"CREATE TABLE default.{table} (d Date, x UInt32) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY x " +
            "SETTINGS parts_to_delay_insert = 1, parts_to_throw_insert = 1");
        using var client = fixture.CreateClient();
        var query = $"INSERT INTO default.{table} FORMAT TabSeparated";

        await client.InsertAsync(query, new StringContent("2024-01-01\t1\n"), CancellationToken.None);
        var refused = await Assert.ThrowsAsync<ClickHouseServerException>(
            () => client.InsertAsync(query, new StringContent("2024-01-01\t2\n"), CancellationToken.None));

        Assert.Equal(252, refused.Code);
        Assert.Equal(HttpStatusCode.InternalServerError, refused.Status);
        Assert.Contains("Too many parts (1). Merges are processing significantly slower than inserts.", refused.Message);
        Assert.Equal(1, await fixture.Server.CountAsync(table));
    }

    /// <summary>Events of one day, a second apart, with consecutive Kafka offsets from <paramref name="firstOffset"/>.</summary>
    private static IEnumerable<(AnalyticsEvent Event, long Offset)> Events(DateTimeOffset day, long firstOffset, int count) =>
        Enumerable.Range(0, count).Select(i => (new AnalyticsEvent
        {
            EventId = new Guid((int)(firstOffset + i), 0, 0, new byte[8]), AppId = "com.example.app", UserId = $"user-{i % 7}", EventName = "screen_view",
            EventTimestampMs = day.ToUnixTimeMilliseconds() + i * 1000L, DeviceId = $"device-{i % 3}", Platform = "android",
            OsVersion = "14", AppVersion = "1.0.0", Country = "DE", Revenue = null, PropertiesJson = "{}",
            PropertyValues = [],
        }, firstOffset + i));

    /// <summary>RowBinary bytes of the events as the pipeline's encoder writes them, partition 0, offsets as given.</summary>
    private static async Task<(string Query, byte[] Body)> EncodeAsync(ClickHouseHttpClient client, string table, IEnumerable<(AnalyticsEvent Event, long Offset)> events)
    {
        var mapping = TableMapping.Create(await client.DescribeTableAsync(table, CancellationToken.None));
        var encoder = new EventRowEncoder(mapping);
        using var buffer = new PooledBufferWriter();
        foreach (var (e, offset) in events)
        {
            Assert.True(encoder.TryEncode(buffer, e, new KafkaCoordinates("events", 0, offset, 0), out var error), error);
        }

        return (mapping.BuildInsertQuery("default", table), buffer.ToArray());
    }

    /// <summary>
    /// Retries the INSERT as a writer would after a crash. A restarted server's replicated tables are read-only
    /// (code 242) until its previous ZooKeeper session expires, and the first request may hit a dead connection.
    /// </summary>
    private static async Task InsertUntilAcceptedAsync(ClickHouseHttpClient client, (string Query, byte[] Body) batch)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.InsertAsync(batch.Query, new ByteArrayContent(batch.Body), CancellationToken.None);
                return;
            }
            catch (Exception ex) when (ex is ClickHouseServerException or HttpRequestException && deadline.Elapsed < RecoveryTimeout)
            {
                await Task.Delay(200);
            }
        }
    }

    private async Task<long> WaitForRowsAsync(string table, long atLeast)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var count = await fixture.Server.CountAsync(table);
            if (count >= atLeast)
            {
                return count;
            }

            Assert.True(deadline.Elapsed < RecoveryTimeout, $"only {count} of {atLeast} rows arrived while the body streamed");
            await Task.Delay(50);
        }
    }

    /// <summary>A body that sends its first bytes, then waits for a signal before the rest; chunked unless told its length.</summary>
    private sealed class GatedContent(byte[] body, int firstPart, Task rest, bool contentLength) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, firstPart));
            await stream.FlushAsync();
            await rest;
            await stream.WriteAsync(body.AsMemory(firstPart));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return contentLength;
        }
    }
}

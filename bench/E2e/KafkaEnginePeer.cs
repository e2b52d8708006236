using System.Diagnostics;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// (d) The peer: ClickHouse's own Kafka table engine with a materialized view into a fresh events table, reading
/// the peer topic (the same events as JSON that 18.16 parses; see <see cref="PeerJson"/>). Timed from CREATE
/// MATERIALIZED VIEW (which starts its consumers) until count() reaches the events.
/// </summary>
internal sealed class KafkaEnginePeer : IContender
{
    /// <summary>
    /// The server's &lt;kafka&gt; section. auto_offset_reset is required (a new group would start at the end);
    /// the queue settings stop librdkafka 2.0.2's group consumer from fetching only once a second past 100k
    /// queued messages.
    /// </summary>
    public const string ServerConfigXml = """
        <kafka>
          <auto_offset_reset>smallest</auto_offset_reset>
          <session_timeout_ms>6000</session_timeout_ms>
          <queued_min_messages>1000000</queued_min_messages>
          <queued_max_messages_kbytes>1048576</queued_max_messages_kbytes>
          <fetch_error_backoff_ms>10</fetch_error_backoff_ms>
        </kafka>
        """;

    public string Name => "peer_kafka_engine";
    public string Description => "ClickHouse 18.16 Kafka engine + materialized view, JSONEachRow, 1 consumer (peer-format topic)";

    public async Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct)
    {
        var table = E2eContext.Unique("peer");
        var queue = table + "_queue";
        var view = table + "_mv";
        await context.CreateEventsTableAsync(table, ct);
        await context.Client.QueryAsync($"""
            CREATE TABLE {E2eContext.Database}.{queue} ({PeerJson.Columns}) ENGINE = Kafka SETTINGS
                kafka_broker_list = '{context.Kafka.BootstrapServers}', kafka_topic_list = '{E2eContext.PeerTopic}',
                kafka_group_name = '{E2eContext.Unique("bench_peer")}', kafka_format = 'JSONEachRow',
                kafka_row_delimiter = '\n', kafka_num_consumers = 1
            """, ct);
        try
        {
            var clock = Stopwatch.StartNew();
            await context.Client.QueryAsync(
                $"CREATE MATERIALIZED VIEW {E2eContext.Database}.{view} TO {E2eContext.Database}.{table} AS SELECT * FROM {E2eContext.Database}.{queue}", ct);
            var visible = await context.WaitForAllVisibleAsync(table, clock, ct);
            return new ContenderRun(visible.TotalSeconds);
        }
        finally
        {
            // The view first: dropping it stops the consumers; then nothing reads the Kafka table.
            await context.Client.QueryAsync($"DROP TABLE IF EXISTS {E2eContext.Database}.{view}", CancellationToken.None);
            await context.Client.QueryAsync($"DROP TABLE IF EXISTS {E2eContext.Database}.{queue}", CancellationToken.None);
            await context.DropTableAsync(table, CancellationToken.None);
        }
    }
}

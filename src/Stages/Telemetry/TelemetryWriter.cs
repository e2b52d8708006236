using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.Telemetry;

/// <param name="Table">The telemetry table (Telemetry:Table); see deploy/clickhouse/telemetry.sql.</param>
public sealed record TelemetryOptions(string Table, string Worker, int Capacity = 10_000, TimeSpan? FlushInterval = null);

/// <summary>
/// Writes one row per finished insert to a ClickHouse table, for tuning and for recalibrating the batch-size
/// model. Best effort by design: rows wait in a bounded queue and are written in small batches by a background
/// task; when the queue is full or ClickHouse refuses them they are dropped and counted, never allowed to slow or
/// fail the pipeline.
/// </summary>
public sealed class TelemetryWriter : IAsyncDisposable
{
    private readonly TelemetryOptions _options;
    private readonly ClickHouseHttpClient _client;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Channel<string> _rows;
    private readonly Task _writer;
    private long _written;

    public TelemetryWriter(TelemetryOptions options, ClickHouseHttpClient client, PipelineMetrics metrics, ILogger<TelemetryWriter> logger)
    {
        ClickHouseIdentifier.Validate(options.Table, "Telemetry:Table");
        _options = options;
        _client = client;
        _metrics = metrics;
        _logger = logger;
        _rows = Channel.CreateBounded<string>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        }, _ => metrics.TelemetryDropped.Inc());
        _writer = Task.Run(WriteLoopAsync);
    }

    public long Written => Interlocked.Read(ref _written);

    public void Record(in BatchInsertOutcome outcome, string policy, int queueDepth, double arrivalRate, int chosenSize)
    {
        var row = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["time"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            ["worker"] = _options.Worker,
            ["policy"] = policy,
            ["rows"] = outcome.Rows,
            ["bytes"] = outcome.Bytes,
            ["insert_seconds"] = outcome.InsertSeconds,
            ["succeeded"] = outcome.Succeeded ? 1 : 0,
            ["oldest_row_age_seconds"] = outcome.OldestRowAgeSeconds,
            ["queue_depth"] = queueDepth,
            ["arrival_rate"] = arrivalRate,
            ["chosen_size"] = chosenSize,
        });
        _rows.Writer.TryWrite(row); // a full queue drops and counts (see the channel's callback)
    }

    private async Task WriteLoopAsync()
    {
        var interval = _options.FlushInterval ?? TimeSpan.FromSeconds(1);
        var query = $"INSERT INTO {ClickHouseIdentifier.Quote(_options.Table)} FORMAT JSONEachRow";
        var batch = new List<string>();
        while (await _rows.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await Task.Delay(interval).ConfigureAwait(false); // gather a second's worth: one small insert, not one per batch
            while (batch.Count < 10_000 && _rows.Reader.TryRead(out var row))
                batch.Add(row);
            try
            {
                using var content = new StringContent(string.Join('\n', batch), Encoding.UTF8, "application/json");
                await _client.InsertAsync(query, content, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Count);
            }
            catch (Exception ex) when (ex is HttpRequestException or ClickHouseServerException or TaskCanceledException)
            {
                _metrics.TelemetryDropped.Inc(batch.Count);
                _logger.LogWarning("Dropped {Rows} telemetry rows: {Reason}", batch.Count, ex.Message);
            }
            batch.Clear();
        }
    }

    /// <summary>Writes what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _rows.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}

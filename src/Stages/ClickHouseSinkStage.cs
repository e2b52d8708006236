using System.Diagnostics;
using System.Net;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages;

public sealed record ClickHouseSinkOptions
{
    public required Uri Url { get; init; }
    public string Database { get; init; } = "default";
    public required string Table { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Gzip the request body (ClickHouse:Compression = gzip). Worth it when the network, not the CPU, is the limit.</summary>
    public bool Gzip { get; init; }

    /// <summary>Inserts in flight at once (ClickHouse:MaxConcurrentInserts); also the sink's queue length in batches.</summary>
    public int MaxConcurrentInserts { get; init; } = 2;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>ClickHouse settings sent with every INSERT (ClickHouse:Settings:*), e.g. insert_distributed_sync=1.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(15);

    public void Validate()
    {
        if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"ClickHouse:Url '{Url}' must be an absolute http:// or https:// URL", "ClickHouse:Url");
        ClickHouseIdentifier.Validate(Database, "ClickHouse:Database");
        ClickHouseIdentifier.Validate(Table, "ClickHouse:Table");
        if (MaxConcurrentInserts is < 1 or > 64)
            throw new ArgumentOutOfRangeException("ClickHouse:MaxConcurrentInserts", MaxConcurrentInserts, "must be between 1 and 64");
        if (RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("ClickHouse:RequestTimeout", RequestTimeout, "must be positive");
        foreach (var name in Settings.Keys)
        {
            if (!ClickHouseHttpClient.IsValidSettingName(name))
                throw new ArgumentException($"ClickHouse:Settings:{name} is not a valid setting name", "ClickHouse:Settings");
        }
    }
}

/// <summary>
/// Stage 4: bulk-inserts RowBinary batches over HTTP. Transient failures (connection, timeout, 5xx, too many
/// parts) are retried with exponential backoff and full jitter, resending identical bytes, for as long as it
/// takes: offsets stay uncommitted meanwhile and backpressure pauses the consumer. A batch the server rejects
/// for its data is split in halves until the offending rows are isolated; those go to the dead letter. An error no
/// retry can fix (<see cref="ClickHouseErrorClass.Permanent"/>) and a change of the table's columns
/// (<see cref="TableSchemaGuard"/>) fault the stage instead: the worker stops consuming, and the batch stays uncommitted.
/// </summary>
public sealed class ClickHouseSinkStage
{
    public const string StageName = "sink";

    private readonly ClickHouseSinkOptions _options;
    private readonly ClickHouseHttpClient _client;
    private readonly string _insertQuery;
    private readonly TableSchemaGuard _schema;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly EndToEndLatencyHistogram? _endToEnd;
    private ITargetBlock<PipelineMessage>? _deadLetter;
    private Action<BatchInsertOutcome>? _onInserted;
    private CancellationToken _abort;
    private long _rowsInserted;
    private long _consecutiveFailures;

    /// <param name="client">Shared with the caller, who disposes it.</param>
    public ClickHouseSinkStage(ClickHouseSinkOptions options, ClickHouseHttpClient client, TableMapping mapping, PipelineMetrics metrics,
        ILogger<ClickHouseSinkStage> logger, EndToEndLatencyHistogram? endToEnd = null)
    {
        options.Validate();
        _options = options;
        _client = client;
        _insertQuery = mapping.BuildInsertQuery(options.Database, options.Table);
        _schema = new TableSchemaGuard(client, options.Table, mapping);
        _metrics = metrics;
        _logger = logger;
        _endToEnd = endToEnd;
        Block = new ActionBlock<InsertBatch>(InsertBatchAsync, new ExecutionDataflowBlockOptions
        {
            BoundedCapacity = options.MaxConcurrentInserts,
            MaxDegreeOfParallelism = options.MaxConcurrentInserts,
        });
    }

    public ActionBlock<InsertBatch> Block { get; }
    public long RowsInserted => Interlocked.Read(ref _rowsInserted);

    /// <summary>True while the last insert attempts keep failing (readiness reports it).</summary>
    public bool IsFailing => Interlocked.Read(ref _consecutiveFailures) >= 3;

    /// <param name="deadLetter">Where rows the server rejects go.</param>
    /// <param name="onInserted">Told about every finished insert (the batch policy learns from it).</param>
    /// <param name="abort">Stops retrying: the batches not inserted stay uncommitted.</param>
    public void Start(ITargetBlock<PipelineMessage> deadLetter, Action<BatchInsertOutcome> onInserted, CancellationToken abort)
    {
        _deadLetter = deadLetter;
        _onInserted = onInserted;
        _abort = abort;
    }

    private async Task InsertBatchAsync(InsertBatch batch)
    {
        using (batch)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await InsertWithSplitAsync(batch.Messages, batch.Payload, batch.Payload, _abort).ConfigureAwait(false);
                _metrics.StageMessages.WithLabels(StageName, "ok").Inc(batch.Count);
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                // Shutdown gave up on this batch: its offsets are never committed, so the rows are read again.
                _metrics.StageMessages.WithLabels(StageName, "abandoned").Inc(batch.Count);
            }
            _metrics.StageDuration.WithLabels(StageName).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <param name="batchPayload">The whole batch's payload, where every message's row lies (<see cref="PipelineMessage.RowStart"/>).</param>
    private async Task InsertWithSplitAsync(List<PipelineMessage> messages, PooledBufferWriter payload, PooledBufferWriter batchPayload,
        CancellationToken cancellationToken)
    {
        try
        {
            await InsertWithRetryAsync(messages, payload, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (ClickHouseServerException ex) when (ClickHouseErrors.Classify(ex) == ClickHouseErrorClass.Data)
        {
            if (messages.Count == 1)
            {
                await RejectAsync(messages[0], ex).ConfigureAwait(false);
                return;
            }
            _logger.LogWarning("ClickHouse rejected a batch of {Rows} rows for its data (code {Code}); splitting to find the bad rows",
                messages.Count, ex.Code);
        }

        var half = messages.Count / 2;
        foreach (var part in new[] { messages.GetRange(0, half), messages.GetRange(half, messages.Count - half) })
        {
            using var partPayload = new PooledBufferWriter();
            // The very bytes first sent: the events themselves were let go once encoded.
            foreach (var message in part)
                batchPayload.CopyRange(message.RowStart, message.RowLength, partPayload);
            await InsertWithSplitAsync(part, partPayload, batchPayload, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task InsertWithRetryAsync(List<PipelineMessage> messages, PooledBufferWriter payload, CancellationToken cancellationToken)
    {
        var backoff = new Backoff(_options.InitialBackoff, _options.MaxBackoff);
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            var queryId = $"event-pipeline-{Guid.NewGuid():N}";
            string cause;
            try
            {
                // Never send bytes planned for other column types: the server would read them without a word.
                await _schema.EnsureUnchangedAsync(cancellationToken).ConfigureAwait(false);
                using var content = payload.CreateHttpContent(_options.Gzip);
                await _client.InsertAsync(_insertQuery, content, cancellationToken, queryId).ConfigureAwait(false);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                _metrics.InsertDuration.WithLabels("ok").Observe(seconds);
                Interlocked.Exchange(ref _consecutiveFailures, 0);
                // Acknowledged first: the rows are in, whatever the check below finds or however it ends.
                Acknowledge(messages, payload.Length, seconds);
                await WarnIfChangedDuringInsertAsync(messages, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TableSchemaChangedException)
            {
                _metrics.SchemaChanges.WithLabels("before_insert").Inc();
                throw;
            }
            catch (ClickHouseServerException ex)
            {
                switch (ClickHouseErrors.Classify(ex))
                {
                    case ClickHouseErrorClass.Data:
                        _metrics.InsertDuration.WithLabels("rejected").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                        throw;
                    case ClickHouseErrorClass.Permanent:
                        _metrics.InsertDuration.WithLabels("error").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                        throw new PermanentInsertException(
                            $"ClickHouse refused the insert into {_options.Database}.{_options.Table} with an error no retry can fix (code {ex.Code}): {ex.Message}", ex);
                }
                cause = ex.Code == 252 ? "too_many_parts" : ex.Status >= HttpStatusCode.InternalServerError ? "server_error" : "request_error";
                LogRetry(ex.Message, attempt, cause);
            }
            catch (HttpRequestException ex)
            {
                cause = "connection";
                LogRetry(ex.Message, attempt, cause);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // HttpClient's own timeout. The insert may or may not have happened: at-least-once resends it.
                cause = "timeout";
                LogRetry(ex.Message, attempt, cause);
            }

            _metrics.InsertDuration.WithLabels("error").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            _metrics.InsertRetries.WithLabels(cause).Inc();
            Interlocked.Increment(ref _consecutiveFailures);
            _onInserted?.Invoke(new BatchInsertOutcome(messages.Count, payload.Length, Stopwatch.GetElapsedTime(started).TotalSeconds, false, 0));
            if (cause == "timeout")
                await WaitUntilFinishedAsync(queryId, cancellationToken).ConfigureAwait(false);
            await backoff.DelayAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A timed-out insert usually keeps running on the server (a frozen or overloaded server finishes it later).
    /// Resending while it runs would stack copies of the same rows, one per timeout; so the resend waits until the
    /// server no longer runs it, for at most ten request timeouts. At-least-once can still store the rows twice
    /// (the first attempt may have succeeded), but not once per timeout.
    /// </summary>
    private async Task WaitUntilFinishedAsync(string queryId, CancellationToken cancellationToken)
    {
        var giveUp = Stopwatch.StartNew();
        var backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        while (giveUp.Elapsed < _options.RequestTimeout * 10)
        {
            try
            {
                if (!await _client.IsQueryRunningAsync(queryId, cancellationToken).ConfigureAwait(false))
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or ClickHouseServerException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The server is still unreachable or frozen: the timed-out insert may yet run, keep waiting.
            }
            await backoff.DelayAsync(cancellationToken).ConfigureAwait(false);
        }
        _logger.LogWarning("Insert {QueryId} timed out and may still be running after {Seconds:F0} s; sending the batch again anyway",
            queryId, giveUp.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// An ALTER that commits between the check before an insert and the start of the insert (a window of one round
    /// trip) would have the rows read under the new types. It cannot be told apart afterwards from an ALTER that
    /// committed after the insert (the usual case, and harmless: ClickHouse serialises the two); so it is reported with
    /// the batch's offsets and counted, and the next insert re-plans.
    /// </summary>
    private async Task WarnIfChangedDuringInsertAsync(List<PipelineMessage> messages, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> differences;
        try
        {
            differences = await _schema.DifferencesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or ClickHouseServerException or OperationCanceledException)
        {
            return; // the check before the next insert will tell
        }
        if (differences.Count == 0)
            return;
        _metrics.SchemaChanges.WithLabels("during_insert").Inc();
        _logger.LogWarning(
            "Table {Table} changed while a batch of {Rows} rows was being inserted ({Differences}). Usually the change came after the insert; " +
            "if it committed in the round trip before the insert began, these rows were read under the new types: partition:offsets {Ranges}",
            _options.Table, messages.Count, string.Join("; ", differences), DescribeRanges(messages));
    }

    private static string DescribeRanges(List<PipelineMessage> messages) =>
        string.Join(", ", messages.GroupBy(m => m.Lease.Partition.Partition.Value).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}:{g.Min(m => m.Offset)}-{g.Max(m => m.Offset)}"));

    private void Acknowledge(List<PipelineMessage> messages, long bytes, double insertSeconds)
    {
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long oldest = nowMs;
        foreach (var message in messages)
        {
            message.Complete();
            var latencyMs = nowMs - message.TimestampMs;
            oldest = Math.Min(oldest, message.TimestampMs);
            _metrics.EndToEndLatency.Observe(latencyMs / 1000.0);
        }
        _endToEnd?.Record(messages, nowMs);
        Interlocked.Add(ref _rowsInserted, messages.Count);
        _metrics.ClickHouseRows.Inc(messages.Count);
        _metrics.ClickHouseBytes.Inc(bytes);
        _onInserted?.Invoke(new BatchInsertOutcome(messages.Count, bytes, insertSeconds, true, (nowMs - oldest) / 1000.0));
    }

    private async Task RejectAsync(PipelineMessage message, ClickHouseServerException ex)
    {
        message.Unpark(); // the batch's memory is returned once the batch is done; the dead letter outlives it
        message.Failure = new DeadLetterReason(StageName, "clickhouse_rejected", $"ClickHouse rejected the row (code {ex.Code}): {ex.Message}");
        _metrics.StageMessages.WithLabels(StageName, "dead_letter").Inc();
        if (!await _deadLetter!.SendAsync(message).ConfigureAwait(false))
            throw new DownstreamStoppedException("The dead-letter stage stopped accepting messages", ex);
    }

    private void LogRetry(string reason, int attempt, string cause)
    {
        if (attempt == 1 || attempt % 10 == 0)
            _logger.LogWarning("Insert failed ({Cause}, attempt {Attempt}), retrying: {Reason}", cause, attempt, reason);
    }
}

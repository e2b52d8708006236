using System.CommandLine;
using System.Diagnostics;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Host.Commands;

/// <summary>
/// <c>pipeline calibrate</c>: real RowBinary inserts of generated events into a fresh table, timed per request,
/// at several batch sizes and 1 or 2 concurrent inserts; fits the simulator's insert cost model to them.
/// </summary>
internal static class CalibrateCommand
{
    private static readonly int[] Sizes = [1_000, 5_000, 20_000, 50_000, 100_000];

    public static Command Create()
    {
        var url = UrlOption.Create("--clickhouse-url", "ClickHouse HTTP URL; without one a local server is started.");
        var user = new Option<string?>("--user") { Description = "ClickHouse user (needs CREATE/DROP TABLE)." };
        var password = new Option<string?>("--password") { Description = "ClickHouse password." };
        var repetitions = new Option<int>("--repetitions") { Description = "Inserts per size and concurrency level.", DefaultValueFactory = _ => 3 };
        var output = new Option<FileInfo>("--out") { Description = "Where the fitted model goes.", DefaultValueFactory = _ => new FileInfo("insert-cost-model.json") };
        var command = new Command("calibrate", "Measure real insert costs and fit the batching simulator's cost model.") { url, user, password, repetitions, output };
        command.SetAction(async (parse, ct) =>
        {
            LocalClickHouseServer? local = null;
            string? state = null;
            try
            {
                var baseUrl = parse.GetValue(url);
                if (baseUrl is null)
                {
                    state = Directory.CreateTempSubdirectory("calibrate-clickhouse-").FullName;
                    local = await LocalClickHouseServer.StartAsync(state, ct: ct).ConfigureAwait(false);
                    baseUrl = local.HttpUrl;
                    Console.Error.WriteLine($"started a local ClickHouse at {baseUrl}");
                }
                using var client = new ClickHouseHttpClient(baseUrl, "default", parse.GetValue(user), parse.GetValue(password), TimeSpan.FromMinutes(2));
                var model = await MeasureAsync(client, parse.GetValue(repetitions), ct).ConfigureAwait(false);
                model.Save(parse.GetValue(output)!.FullName);
                Console.WriteLine($"{model.Law}; {model.Points.Count} points; server {model.ServerVersion} -> {parse.GetValue(output)!.FullName}");
                return 0;
            }
            finally
            {
                if (local is not null)
                    await local.DisposeAsync().ConfigureAwait(false);
                if (state is not null)
                    Directory.Delete(state, recursive: true);
            }
        });
        return command;
    }

    private static async Task<InsertCostModel> MeasureAsync(ClickHouseHttpClient client, int repetitions, CancellationToken ct)
    {
        var version = (await client.QueryAsync("SELECT version()", ct).ConfigureAwait(false)).Trim();
        var table = "batch_calibration_" + Guid.NewGuid().ToString("N")[..12];
        await client.QueryAsync(EventsTable.CreateStatement($"default.{table}"), ct).ConfigureAwait(false);
        try
        {
            var mapping = TableMapping.Create(await client.DescribeTableAsync(table, ct).ConfigureAwait(false));
            var encoder = new EventRowEncoder(mapping);
            var insert = mapping.BuildInsertQuery("default", table);
            var generator = new EventGenerator(new EventGeneratorOptions { Seed = 1, StartTimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            var points = new List<InsertMeasurement>();
            long offset = 0;
            PooledBufferWriter Encode(int rows)
            {
                var buffer = new PooledBufferWriter();
                for (var i = 0; i < rows; i++)
                    if (!encoder.TryEncode(buffer, generator.NextEvent(), new KafkaCoordinates("calibration", 0, offset++, 0), out var error))
                        throw new InvalidOperationException($"generated event does not encode: {error}");
                return buffer;
            }
            async Task<double> TimedInsert(PooledBufferWriter buffer)
            {
                using var content = buffer.CreateHttpContent();
                var started = Stopwatch.GetTimestamp();
                await client.InsertAsync(insert, content, ct).ConfigureAwait(false);
                return Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
            using (var warmup = Encode(1_000))
                await TimedInsert(warmup).ConfigureAwait(false);
            foreach (var rows in Sizes)
                for (var r = 0; r < repetitions; r++)
                {
                    using (var one = Encode(rows))
                        points.Add(new InsertMeasurement(rows, one.Length, 1, await TimedInsert(one).ConfigureAwait(false)));
                    using var a = Encode(rows);
                    using var b = Encode(rows);
                    var both = await Task.WhenAll(TimedInsert(a), TimedInsert(b)).ConfigureAwait(false);
                    points.Add(new InsertMeasurement(rows, a.Length, 2, both[0]));
                    points.Add(new InsertMeasurement(rows, b.Length, 2, both[1]));
                    Console.Error.WriteLine($"{rows,7} rows: {points[^3].Seconds:F3} s alone, {both[0]:F3}/{both[1]:F3} s two at once");
                }
            return InsertCostModel.Fit(points, version);
        }
        finally
        {
            await client.QueryAsync($"DROP TABLE IF EXISTS default.{table}", CancellationToken.None).ConfigureAwait(false);
        }
    }
}

using System.Diagnostics;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// A second peer, the shell way: <c>kcat -C -e | clickhouse-client --query "INSERT ... FORMAT JSONEachRow"</c> on
/// the peer topic (no consumer group, one INSERT streaming everything). Timed from launch to exit.
/// </summary>
internal sealed class KcatPeer : IContender
{
    public string Name => "peer_kcat_client";
    public string Description => "kcat -C -e | clickhouse-client INSERT FORMAT JSONEachRow (peer-format topic)";

    public async Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct)
    {
        var table = E2eContext.Unique("kcat");
        await context.CreateEventsTableAsync(table, ct);
        try
        {
            var script = $"set -o pipefail; kcat -C -q -e -o beginning -b '{context.Kafka.BootstrapServers}' -t {E2eContext.PeerTopic} " +
                $"| clickhouse-client --host 127.0.0.1 --port {context.ClickHouse.TcpPort} --query 'INSERT INTO {E2eContext.Database}.{table} FORMAT JSONEachRow'";
            var start = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(context.Options.ContenderTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("kcat | clickhouse-client did not finish");
            }
            var elapsed = clock.Elapsed;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"kcat | clickhouse-client exited {process.ExitCode}: {await stderr}");
            var count = await context.CountAsync(table, ct);
            if (count != context.Events)
                throw new InvalidOperationException($"kcat | clickhouse-client inserted {count} rows, expected {context.Events}");
            return new ContenderRun(elapsed.TotalSeconds);
        }
        finally
        {
            await context.DropTableAsync(table, CancellationToken.None);
        }
    }
}

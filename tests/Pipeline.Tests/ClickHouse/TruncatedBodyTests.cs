using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.ClickHouse;

/// <summary>
/// What ClickHouse does with an INSERT body cut short by a client that died mid-request, as a killed worker is.
/// A plain RowBinary body cut at a row boundary looks complete; a gzip body does not (its trailer is missing).
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class TruncatedBodyTests(ClickHouseFixture clickHouse)
{
    private const int Rows = 1000;

    private static byte[] Body()
    {
        using var buffer = new PooledBufferWriter();
        var type = ClickHouseType.Parse("UInt64");
        for (var i = 0; i < Rows; i++)
            type.Write(buffer, EventPipeline.Stages.Events.FieldValue.FromInt64(i));
        return buffer.ToArray();
    }

    private async Task<long> SendCutAsync(string table, byte[] body, int sendBytes, bool gzip)
    {
        var query = Uri.EscapeDataString($"INSERT INTO {table} FORMAT RowBinary");
        var header = $"POST /?query={query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {body.Length}\r\n" +
                     (gzip ? "Content-Encoding: gzip\r\n" : "") + "Connection: close\r\n\r\n";
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", clickHouse.Server.HttpPort);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(header));
            await stream.WriteAsync(body.AsMemory(0, sendBytes));
            await stream.FlushAsync();
            client.Client.Shutdown(SocketShutdown.Both); // the client dies here
        }
        // A fixed wait on purpose: what is under test is what the server does with a cut body, and "it inserted
        // nothing" has no event to wait for; the query is not reliably in system.processes yet when the socket closes.
        await Task.Delay(1500);
        return await clickHouse.Server.CountAsync(table);
    }

    [Fact]
    public async Task A_plain_body_cut_at_a_row_boundary_inserts_the_prefix_and_a_gzip_body_cut_anywhere_inserts_nothing()
    {
        var plain = $"cut_plain_{Guid.NewGuid():N}";
        var zipped = $"cut_gzip_{Guid.NewGuid():N}";
        foreach (var table in new[] { plain, zipped })
            await clickHouse.Server.QueryAsync($"CREATE TABLE {table} (x UInt64) ENGINE = MergeTree ORDER BY x");
        var body = Body();

        var plainRows = await SendCutAsync(plain, body, sendBytes: body.Length / 2, gzip: false); // 500 whole rows of 8 bytes

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(body);
        var gz = compressed.ToArray();
        var gzipRows = await SendCutAsync(zipped, gz, sendBytes: gz.Length - 8, gzip: true); // all data, no CRC/size trailer

        Assert.Equal(0, gzipRows);
        // Recorded, not wished for: 18.16 takes the prefix as the whole insert. This is why exactly-once always
        // sends gzip bodies (a replayed batch would not deduplicate against a prefix).
        Assert.Equal(Rows / 2, plainRows);
    }
}

using System.Buffers;
using System.IO.Compression;
using EventPipeline.Stages.ClickHouse;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

public class PooledBufferWriterTests
{
    private static byte[] Pattern(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    /// <summary>Writes <paramref name="data"/> in chunks of varying size, each through its own GetSpan.</summary>
    private static void WriteChunked(IBufferWriter<byte> writer, byte[] data)
    {
        for (int offset = 0, chunk = 1; offset < data.Length; offset += chunk, chunk = chunk % 13 + 1)
        {
            chunk = Math.Min(chunk, data.Length - offset);
            data.AsSpan(offset, chunk).CopyTo(writer.GetSpan(chunk));
            writer.Advance(chunk);
        }
    }

    [Theory]
    [InlineData(0, 1000)]
    [InlineData(15, 2)]
    [InlineData(16, 48)]
    [InlineData(100, 333)]
    [InlineData(999, 1)]
    [InlineData(500, 0)]
    public void Any_range_copies_out_exactly_across_segment_boundaries(int start, int length)
    {
        var data = Pattern(1000);
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 64);
        WriteChunked(writer, data);
        using var copy = new PooledBufferWriter();

        writer.CopyRange(start, length, copy);

        Assert.Equal(data.AsSpan(start, length).ToArray(), copy.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.CopyRange(999, 2, copy));
    }

    [Fact]
    public void Bytes_written_across_growing_segments_come_back_in_order()
    {
        var pool = new CountingPool();
        var data = Pattern(1000);
        using (var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 64, pool))
        {
            WriteChunked(writer, data);

            Assert.Equal(1000, writer.Length);
            Assert.Equal(data, writer.ToArray());
            Assert.Equal([16, 32, 64, 64], pool.RentedSizes.Take(4));
            Assert.True(writer.SegmentCount > 15);
        }
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_span_larger_than_the_maximum_gets_its_own_segment()
    {
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 32);
        writer.GetSpan(4)[..4].Fill(1);
        writer.Advance(4);

        var big = writer.GetSpan(100);
        Assert.True(big.Length >= 100);
        big[..100].Fill(2);
        writer.Advance(100);

        Assert.Equal(2, writer.SegmentCount);
        Assert.Equal([.. Enumerable.Repeat((byte)1, 4), .. Enumerable.Repeat((byte)2, 100)], writer.ToArray());
    }

    [Fact]
    public void Truncate_drops_the_tail_and_returns_its_segments()
    {
        var pool = new CountingPool();
        var data = Pattern(500);
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 16, pool);
        WriteChunked(writer, data);
        var outstanding = pool.Outstanding;

        writer.Truncate(37);

        Assert.Equal(37, writer.Length);
        Assert.Equal(data[..37], writer.ToArray());
        Assert.True(pool.Outstanding < outstanding);
        Assert.Equal(pool.Outstanding, writer.SegmentCount);
        WriteChunked(writer, data[37..]);
        Assert.Equal(data, writer.ToArray());
    }

    [Fact]
    public void Truncate_at_a_segment_boundary_and_reset()
    {
        var pool = new CountingPool();
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 16, pool);
        for (var i = 0; i < 3; i++)
        {
            Pattern(48).AsSpan(16 * i, 16).CopyTo(writer.GetSpan(16));
            writer.Advance(16);
        }
        writer.GetSpan(1);
        Assert.Equal(4, writer.SegmentCount);

        writer.Truncate(32);
        Assert.Equal(Pattern(32), writer.ToArray());
        Assert.Equal(2, writer.SegmentCount);

        writer.Reset();
        Assert.Equal(0, writer.Length);
        Assert.Empty(writer.ToArray());
        Assert.Equal(1, pool.Outstanding);
        WriteChunked(writer, Pattern(20));
        Assert.Equal(Pattern(20), writer.ToArray());
    }

    [Fact]
    public void Misuse_is_refused()
    {
        var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 16);
        Assert.Throws<InvalidOperationException>(() => writer.Advance(1));
        var available = writer.GetSpan(1).Length;
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(available + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Truncate(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Truncate(-1));
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
    }

    [Fact]
    public async Task CopyToAsync_streams_every_segment()
    {
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 32);
        WriteChunked(writer, Pattern(300));
        using var stream = new MemoryStream();

        await writer.CopyToAsync(stream, CancellationToken.None);

        Assert.Equal(Pattern(300), stream.ToArray());
    }

    [Fact]
    public async Task Http_content_has_a_length_and_resends_identical_bytes()
    {
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 32);
        WriteChunked(writer, Pattern(300));
        using var content = writer.CreateHttpContent();

        Assert.Equal(300, content.Headers.ContentLength);
        Assert.Equal("application/octet-stream", content.Headers.ContentType?.MediaType);
        Assert.Empty(content.Headers.ContentEncoding);
        for (var send = 0; send < 2; send++)
        {
            using var stream = new MemoryStream();
            await content.CopyToAsync(stream);
            Assert.Equal(Pattern(300), stream.ToArray());
        }
    }

    [Fact]
    public async Task Gzip_content_decompresses_to_the_same_bytes_on_every_send()
    {
        using var writer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 32);
        WriteChunked(writer, Pattern(3000));
        using var content = writer.CreateHttpContent(gzip: true);

        Assert.Equal(["gzip"], content.Headers.ContentEncoding);
        Assert.Null(content.Headers.ContentLength);
        for (var send = 0; send < 2; send++)
        {
            using var compressed = new MemoryStream();
            await content.CopyToAsync(compressed);
            compressed.Position = 0;
            using var decompressed = new MemoryStream();
            await using (var gzip = new GZipStream(compressed, CompressionMode.Decompress))
                await gzip.CopyToAsync(decompressed);
            Assert.Equal(Pattern(3000), decompressed.ToArray());
        }
    }

    /// <summary>Counts rentals so tests can check that every segment goes back to the pool.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        public List<int> RentedSizes { get; } = [];
        public int Outstanding { get; private set; }

        public override byte[] Rent(int minimumLength)
        {
            RentedSizes.Add(minimumLength);
            Outstanding++;
            return new byte[minimumLength];
        }

        public override void Return(byte[] array, bool clearArray = false) => Outstanding--;
    }
}

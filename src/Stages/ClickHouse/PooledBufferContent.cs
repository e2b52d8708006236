using System.IO.Compression;
using System.Net;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// Streams a <see cref="PooledBufferWriter"/> as a request body without copying it into one array. Retries can
/// resend it: serialising only reads the writer. Disposing the content leaves the writer alone.
/// </summary>
internal sealed class PooledBufferContent : HttpContent
{
    private readonly PooledBufferWriter _buffer;
    private readonly bool _gzip;

    public PooledBufferContent(PooledBufferWriter buffer, bool gzip)
    {
        _buffer = buffer;
        _gzip = gzip;
        Headers.ContentType = new("application/octet-stream");
        if (gzip)
            Headers.ContentEncoding.Add("gzip");
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!_gzip)
        {
            await _buffer.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            return;
        }
        var compressed = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
        await using (compressed.ConfigureAwait(false))
            await _buffer.CopyToAsync(compressed, cancellationToken).ConfigureAwait(false);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!_gzip)
        {
            _buffer.CopyTo(stream);
            return;
        }
        using var compressed = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
        _buffer.CopyTo(compressed);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _gzip ? 0 : _buffer.Length;
        return !_gzip;
    }
}

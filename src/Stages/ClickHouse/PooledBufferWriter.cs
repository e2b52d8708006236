using System.Buffers;
using System.Runtime.InteropServices;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// A batch body built in a chain of arrays rented from a pool, so a batch of any size never needs one large
/// array (nor the large object heap's copies as it grows). Segments grow from the minimum to the maximum size;
/// a span request larger than what is left starts a new segment and leaves the rest of the old one unused.
/// Not thread-safe.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    public const int DefaultMinSegmentSize = 64 * 1024;
    public const int DefaultMaxSegmentSize = 1024 * 1024;

    private readonly ArrayPool<byte> _pool;
    private readonly int _minSegmentSize;
    private readonly int _maxSegmentSize;
    private readonly List<Segment> _segments = [];
    private bool _disposed;

    public PooledBufferWriter(int minSegmentSize = DefaultMinSegmentSize, int maxSegmentSize = DefaultMaxSegmentSize, ArrayPool<byte>? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minSegmentSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentSize, minSegmentSize);
        _minSegmentSize = minSegmentSize;
        _maxSegmentSize = maxSegmentSize;
        _pool = pool ?? ArrayPool<byte>.Shared;
    }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>Segments currently rented (including an empty first one kept after a reset).</summary>
    public int SegmentCount => _segments.Count;

    public void Advance(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_segments.Count == 0)
            throw new InvalidOperationException("Advance before GetSpan/GetMemory");
        ref var last = ref Last;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, last.Array.Length - last.Count);
        last.Count += count;
        Length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        ref var last = ref Reserve(sizeHint);
        return last.Array.AsMemory(last.Count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        ref var last = ref Reserve(sizeHint);
        return last.Array.AsSpan(last.Count);
    }

    /// <summary>
    /// Drops everything after the first <paramref name="length"/> bytes, returning segments no longer needed to
    /// the pool; what follows is written as if the dropped bytes never were.
    /// </summary>
    public void Truncate(long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        var excess = Length - length;
        while (_segments.Count > 0)
        {
            ref var last = ref Last;
            if (excess < last.Count || _segments.Count == 1)
            {
                last.Count -= (int)excess;
                break;
            }
            excess -= last.Count;
            _pool.Return(last.Array);
            _segments.RemoveAt(_segments.Count - 1);
        }
        Length = length;
    }

    /// <summary>Empties the writer for the next batch, keeping only the first segment.</summary>
    public void Reset() => Truncate(0);

    public async Task CopyToAsync(Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < _segments.Count; i++)
            await destination.WriteAsync(_segments[i].Array.AsMemory(0, _segments[i].Count), cancellationToken).ConfigureAwait(false);
    }

    public void CopyTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var segment in _segments)
            destination.Write(segment.Array, 0, segment.Count);
    }

    /// <summary>Appends the bytes at logical positions [<paramref name="start"/>, start + <paramref name="length"/>) to <paramref name="destination"/>.</summary>
    public void CopyRange(long start, long length, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + length, Length);
        long segmentStart = 0;
        foreach (var segment in _segments)
        {
            if (length == 0)
                break;
            var segmentEnd = segmentStart + segment.Count;
            if (start < segmentEnd)
            {
                var from = (int)(start - segmentStart);
                var count = (int)Math.Min(length, segment.Count - from);
                destination.Write(segment.Array.AsSpan(from, count));
                start += count;
                length -= count;
            }
            segmentStart = segmentEnd;
        }
    }

    /// <summary>A copy of the written bytes in one array, for tests and diagnostics; sending uses <see cref="CreateHttpContent"/>.</summary>
    public byte[] ToArray()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = new byte[Length];
        var offset = 0;
        foreach (var segment in _segments)
        {
            segment.Array.AsSpan(0, segment.Count).CopyTo(result.AsSpan(offset));
            offset += segment.Count;
        }
        return result;
    }

    /// <summary>
    /// A request body streaming the segments as they are. It can be sent any number of times (each send reads
    /// the same bytes), and does not own the writer: keep the writer unchanged and undisposed until the last send ends.
    /// </summary>
    /// <param name="gzip">Compress while sending, with <c>Content-Encoding: gzip</c> (the length is then unknown).</param>
    public HttpContent CreateHttpContent(bool gzip = false) => new PooledBufferContent(this, gzip);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var segment in _segments)
            _pool.Return(segment.Array);
        _segments.Clear();
        Length = 0;
    }

    private ref Segment Last => ref CollectionsMarshal.AsSpan(_segments)[^1];

    private ref Segment Reserve(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        sizeHint = Math.Max(sizeHint, 1);
        if (_segments.Count == 0 || Last.Array.Length - Last.Count < sizeHint)
        {
            var grown = (long)_minSegmentSize << Math.Min(_segments.Count, 30);
            var size = (int)Math.Max(sizeHint, Math.Min(grown, _maxSegmentSize));
            _segments.Add(new Segment(_pool.Rent(size)));
        }
        return ref Last;
    }

    private struct Segment(byte[] array)
    {
        public readonly byte[] Array = array;

        /// <summary>Bytes written into <see cref="Array"/>.</summary>
        public int Count;
    }
}

namespace EventPipeline.Models.Codec;

/// <summary>
/// An integer frequency table for <see cref="RansEncoder"/>/<see cref="RansDecoder"/>: every symbol has a frequency of
/// at least 1 (so every symbol can be coded, however unlikely) and the frequencies sum to exactly
/// 2^<see cref="ScaleBits"/>. Built from counts with integer arithmetic only, so the same counts give the same table on
/// every machine.
/// </summary>
public sealed class FrequencyTable
{
    public const int ScaleBits = 15;
    public const int Scale = 1 << ScaleBits;

    /// <summary>Every byte with frequency 2^(ScaleBits-8): exactly 8 bits each, for values no model predicts.</summary>
    public static FrequencyTable UniformBytes { get; } = Uniform(256);

    /// <summary>Slots per bucket of <see cref="_bucketFirst"/>: 256 buckets over the scale.</summary>
    private const int BucketShift = ScaleBits - 8;

    private readonly int[] _starts;

    /// <summary>The symbol holding the first slot of each bucket: the decoder searches only from there on.</summary>
    private readonly ushort[] _bucketFirst;

    private FrequencyTable(int[] starts)
    {
        _starts = starts;
        _bucketFirst = new ushort[1 << (ScaleBits - BucketShift)];
        var symbol = 0;
        for (var bucket = 0; bucket < _bucketFirst.Length; bucket++)
        {
            while (_starts[symbol + 1] <= bucket << BucketShift)
                symbol++;
            _bucketFirst[bucket] = (ushort)symbol;
        }
    }

    public int SymbolCount => _starts.Length - 1;

    public int Start(int symbol) => _starts[symbol];

    public int Frequency(int symbol) => _starts[symbol + 1] - _starts[symbol];

    /// <summary>The cumulative starts, for tests and hashing (length SymbolCount + 1, last = Scale).</summary>
    public ReadOnlySpan<int> Starts => _starts;

    public static FrequencyTable Uniform(int symbols)
    {
        var counts = new long[symbols];
        Array.Fill(counts, 1);
        return FromCounts(counts);
    }

    /// <summary>
    /// Quantises counts to frequencies summing to <see cref="Scale"/>: each symbol gets 1, the rest is shared in
    /// proportion to the counts (floor), and what flooring leaves goes one unit at a time to the symbols with the largest
    /// counts (ties: the lower symbol). Integer only, no ordering that depends on anything but the counts.
    /// </summary>
    public static FrequencyTable FromCounts(ReadOnlySpan<long> counts)
    {
        var n = counts.Length;
        if (n < 1 || n > Scale)
            throw new ArgumentOutOfRangeException(nameof(counts), n, $"a table holds 1..{Scale} symbols");
        long total = 0;
        foreach (var c in counts)
        {
            if (c < 0)
                throw new ArgumentOutOfRangeException(nameof(counts), c, "counts cannot be negative");
            total += c;
        }
        var spare = Scale - n;
        var frequencies = new int[n];
        var assigned = 0;
        for (var i = 0; i < n; i++)
        {
            var share = total == 0 ? 0 : (int)(UInt128.CreateTruncating(counts[i]) * (UInt128)(ulong)spare / (UInt128)(ulong)total);
            frequencies[i] = 1 + share;
            assigned += frequencies[i];
        }
        var left = Scale - assigned;
        if (left > 0)
        {
            // Stable order: by count descending, then symbol ascending.
            var order = new int[n];
            for (var i = 0; i < n; i++)
                order[i] = i;
            var keys = counts.ToArray();
            Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
            for (var k = 0; left > 0; k = (k + 1) % n, left--)
                frequencies[order[k]]++;
        }
        var starts = new int[n + 1];
        for (var i = 0; i < n; i++)
            starts[i + 1] = starts[i] + frequencies[i];
        return new FrequencyTable(starts);
    }

    /// <summary>The symbol whose range holds <paramref name="slot"/> (0 &lt;= slot &lt; Scale): binary search within its bucket.</summary>
    public int Find(int slot)
    {
        var bucket = slot >> BucketShift;
        int low = _bucketFirst[bucket];
        int high = bucket + 1 < _bucketFirst.Length ? _bucketFirst[bucket + 1] : _starts.Length - 2;
        while (low < high)
        {
            var mid = (low + high + 1) >> 1;
            if (_starts[mid] <= slot)
                low = mid;
            else
                high = mid - 1;
        }
        return low;
    }
}

/// <summary>
/// A byte-wise rANS encoder (32-bit state, Duda's asymmetric numeral systems as in ryg_rans): symbols are queued in
/// the order the decoder will read them, then <see cref="Finish"/> codes them in reverse and writes the stream. Written
/// here because no entropy-coder package is served on this project's NuGet feed; it is the textbook algorithm and small.
/// </summary>
/// <remarks>
/// The state starts at <c>LowerBound + check</c> (check &lt; 2^23): the decoder must end in exactly that state, so
/// the final state doubles as a 23-bit check of what was decoded, at no extra bytes beyond the 4-byte state flush.
/// Not thread-safe; reuse one instance per thread.
/// </remarks>
public sealed class RansEncoder
{
    public const uint LowerBound = 1u << 23;
    public const uint CheckMask = LowerBound - 1;

    private (int Start, int Frequency)[] _symbols = new (int, int)[256];
    private int _count;
    private byte[] _buffer = new byte[1024];

    public int QueuedSymbols => _count;

    public void Reset() => _count = 0;

    public void Put(FrequencyTable table, int symbol)
    {
        if ((uint)symbol >= (uint)table.SymbolCount)
            throw new ArgumentOutOfRangeException(nameof(symbol), symbol, $"table has {table.SymbolCount} symbols");
        if (_count == _symbols.Length)
            Array.Resize(ref _symbols, _count * 2);
        _symbols[_count++] = (table.Start(symbol), table.Frequency(symbol));
    }

    /// <summary>Eight bits, uniformly (a byte no table predicts).</summary>
    public void PutByte(byte value) => Put(FrequencyTable.UniformBytes, value);

    /// <summary>Codes the queued symbols and appends the stream (decoder reads it forward) to <paramref name="output"/>.</summary>
    internal void Finish(uint check, WireWriter output)
    {
        // Worst case: 2 bytes per symbol (15-bit scale) plus the 4-byte state.
        var capacity = _count * 2 + 4;
        if (_buffer.Length < capacity)
            _buffer = new byte[Math.Max(capacity, _buffer.Length * 2)];
        var at = _buffer.Length;
        var x = LowerBound + (check & CheckMask);
        for (var i = _count - 1; i >= 0; i--)
        {
            var (start, frequency) = _symbols[i];
            var max = (uint)(((LowerBound >> FrequencyTable.ScaleBits) << 8) * frequency);
            while (x >= max)
            {
                _buffer[--at] = (byte)x;
                x >>= 8;
            }
            x = ((x / (uint)frequency) << FrequencyTable.ScaleBits) + (x % (uint)frequency) + (uint)start;
        }
        _buffer[--at] = (byte)(x >> 24);
        _buffer[--at] = (byte)(x >> 16);
        _buffer[--at] = (byte)(x >> 8);
        _buffer[--at] = (byte)x;
        output.Bytes(_buffer.AsSpan(at));
        _count = 0;
    }
}

/// <summary>Reads what <see cref="RansEncoder"/> wrote; running past the input is a <see cref="CodecFormatException"/>.</summary>
public ref struct RansDecoder
{
    private readonly ReadOnlySpan<byte> _data;
    private uint _x;

    public RansDecoder(ReadOnlySpan<byte> data)
    {
        _data = data;
        if (data.Length < 4)
            throw new CodecFormatException($"entropy-coded stream of {data.Length} bytes, at least 4 needed");
        _x = (uint)(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
        Position = 4;
        if (_x < RansEncoder.LowerBound)
            throw new CodecFormatException("entropy-coded stream starts with an impossible state");
    }

    /// <summary>Bytes of the stream consumed so far: after the last symbol, where whatever follows the stream starts.</summary>
    public int Position { get; private set; }

    public int Get(FrequencyTable table)
    {
        var slot = (int)(_x & (FrequencyTable.Scale - 1));
        var symbol = table.Find(slot);
        _x = (uint)table.Frequency(symbol) * (_x >> FrequencyTable.ScaleBits) + (uint)slot - (uint)table.Start(symbol);
        while (_x < RansEncoder.LowerBound)
        {
            if (Position >= _data.Length)
                throw new CodecFormatException($"entropy-coded stream truncated at byte {Position}");
            _x = (_x << 8) | _data[Position++];
        }
        return symbol;
    }

    public byte GetByte() => (byte)Get(FrequencyTable.UniformBytes);

    /// <summary>The check the encoder started from; meaningful only after the last symbol.</summary>
    public readonly uint Check => _x - RansEncoder.LowerBound;

    /// <summary>Whether the final state is one an encoder can start from (LowerBound + a 23-bit check).</summary>
    public readonly bool EndedInStartState => _x >= RansEncoder.LowerBound && _x - RansEncoder.LowerBound <= RansEncoder.CheckMask;
}

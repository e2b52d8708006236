namespace EventPipeline.Stages.Flow;

/// <summary>
/// The offsets of one partition that are in flight, in the order they were consumed. Messages finish out of
/// order (a dead letter can be acked before an earlier row is inserted), but only the contiguous prefix of
/// finished offsets may be committed: committing past an unfinished message would lose it on a crash.
/// </summary>
public sealed class PartitionOffsets
{
    private readonly object _gate = new();
    private long[] _offsets = new long[1024];
    private bool[] _done = new bool[1024];
    private long _head; // sequence of the oldest unfinished message
    private long _tail; // sequence the next registered message gets
    private long _committable = -1;
    private long _completedInOrder; // messages released by the watermark so far

    /// <summary>Registers a consumed offset; offsets must be registered in increasing order.</summary>
    /// <returns>The sequence number to pass to <see cref="Complete"/>.</returns>
    public long Register(long offset)
    {
        lock (_gate)
        {
            if (_tail > _head && offset <= _offsets[(_tail - 1) % _offsets.Length])
                throw new ArgumentException($"offset {offset} registered out of order", nameof(offset));
            if (_tail - _head == _offsets.Length)
                Grow();
            var slot = _tail % _offsets.Length;
            _offsets[slot] = offset;
            _done[slot] = false;
            return _tail++;
        }
    }

    /// <summary>Marks a message finished: inserted into ClickHouse or acknowledged by the dead-letter topic.</summary>
    public void Complete(long sequence)
    {
        lock (_gate)
        {
            MarkDone(sequence);
            Advance();
        }
    }

    /// <summary>
    /// Marks several messages finished at once, so that a commit never sees the watermark halfway through them
    /// (exactly-once relies on committed offsets falling on batch boundaries).
    /// </summary>
    public void CompleteAll(IEnumerable<long> sequences)
    {
        lock (_gate)
        {
            foreach (var sequence in sequences)
                MarkDone(sequence);
            Advance();
        }
    }

    private void MarkDone(long sequence)
    {
        if (sequence < _head || sequence >= _tail)
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"not in flight (in flight: {_head}..{_tail - 1})");
        _done[sequence % _done.Length] = true;
    }

    private void Advance()
    {
        while (_head < _tail && _done[_head % _done.Length])
        {
            _committable = _offsets[_head % _offsets.Length] + 1;
            _head++;
            _completedInOrder++;
        }
    }

    /// <summary>The Kafka offset to commit (next offset to read), or -1 when nothing has finished yet.</summary>
    public long CommittableOffset
    {
        get { lock (_gate) return _committable; }
    }

    /// <summary>The committable offset and how many messages lie below it, read together.</summary>
    public (long Offset, long Messages) Committable
    {
        get { lock (_gate) return (_committable, _completedInOrder); }
    }

    /// <summary>The last offset registered, or -1 before the first.</summary>
    public long LastRegistered
    {
        get { lock (_gate) return _tail == 0 ? -1 : _offsets[(_tail - 1) % _offsets.Length]; }
    }

    public int InFlight
    {
        get { lock (_gate) return (int)(_tail - _head); }
    }

    private void Grow()
    {
        var count = (int)(_tail - _head);
        var offsets = new long[_offsets.Length * 2];
        var done = new bool[_done.Length * 2];
        for (var i = 0; i < count; i++)
        {
            var seq = _head + i;
            offsets[seq % offsets.Length] = _offsets[seq % _offsets.Length];
            done[seq % done.Length] = _done[seq % _done.Length];
        }
        _offsets = offsets;
        _done = done;
    }
}

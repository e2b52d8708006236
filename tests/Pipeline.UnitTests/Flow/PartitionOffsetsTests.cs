using EventPipeline.Stages.Flow;

namespace EventPipeline.Tests.Flow;

public sealed class PartitionOffsetsTests
{
    [Fact]
    public void Nothing_is_committable_before_the_first_message_finishes()
    {
        var offsets = new PartitionOffsets();
        offsets.Register(10);
        offsets.Register(11);
        Assert.Equal(-1, offsets.CommittableOffset);
        Assert.Equal(2, offsets.InFlight);
    }

    [Fact]
    public void Out_of_order_completion_only_releases_the_contiguous_prefix()
    {
        var offsets = new PartitionOffsets();
        var a = offsets.Register(100);
        var b = offsets.Register(101);
        var c = offsets.Register(102);

        offsets.Complete(c);
        Assert.Equal(-1, offsets.CommittableOffset); // 100 and 101 are not durable yet

        offsets.Complete(a);
        Assert.Equal(101, offsets.CommittableOffset); // next offset to read after 100

        offsets.Complete(b);
        Assert.Equal(103, offsets.CommittableOffset);
        Assert.Equal(0, offsets.InFlight);
    }

    [Fact]
    public void Gaps_in_offsets_are_committed_past()
    {
        // Compacted topics and transaction markers leave holes; the watermark is about consumed messages only.
        var offsets = new PartitionOffsets();
        var a = offsets.Register(5);
        var b = offsets.Register(9);
        offsets.Complete(b);
        offsets.Complete(a);
        Assert.Equal(10, offsets.CommittableOffset);
    }

    [Fact]
    public void Grows_beyond_its_initial_capacity_without_losing_state()
    {
        var offsets = new PartitionOffsets();
        var sequences = new List<long>();
        for (var i = 0; i < 5000; i++)
            sequences.Add(offsets.Register(i));
        // Finish all but the first, in reverse order.
        for (var i = sequences.Count - 1; i >= 1; i--)
            offsets.Complete(sequences[i]);
        Assert.Equal(-1, offsets.CommittableOffset);
        offsets.Complete(sequences[0]);
        Assert.Equal(5000, offsets.CommittableOffset);
    }

    [Fact]
    public void Wraps_around_the_ring_many_times()
    {
        var offsets = new PartitionOffsets();
        for (var i = 0; i < 10_000; i++)
        {
            var first = offsets.Register(2 * i);
            var second = offsets.Register(2 * i + 1);
            offsets.Complete(second);
            offsets.Complete(first);
            Assert.Equal(2 * i + 2, offsets.CommittableOffset);
        }
    }

    [Fact]
    public void Rejects_offsets_registered_out_of_order_and_unknown_sequences()
    {
        var offsets = new PartitionOffsets();
        var sequence = offsets.Register(7);
        Assert.Throws<ArgumentException>(() => offsets.Register(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => offsets.Complete(sequence + 1));
        offsets.Complete(sequence);
        Assert.Throws<ArgumentOutOfRangeException>(() => offsets.Complete(sequence));
    }

    [Fact]
    public async Task Concurrent_completion_from_many_threads_ends_at_the_last_offset()
    {
        var offsets = new PartitionOffsets();
        var sequences = Enumerable.Range(0, 20_000).Select(i => offsets.Register(i)).ToArray();
        var shuffled = sequences.OrderBy(_ => Random.Shared.Next()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = worker; i < shuffled.Length; i += 4)
                offsets.Complete(shuffled[i]);
        })));
        Assert.Equal(20_000, offsets.CommittableOffset);
        Assert.Equal(0, offsets.InFlight);
    }
}

using EventPipeline.Models.Codec;

namespace EventPipeline.Tests.Codec;

public sealed class RansTests
{
    private static FrequencyTable RandomTable(Random random)
    {
        var symbols = random.Next(4) switch { 0 => 1, 1 => 2, 2 => 256, _ => random.Next(1, 2000) };
        var counts = new long[symbols];
        for (var i = 0; i < symbols; i++)
        {
            // Skewed: many zero counts, a few huge ones.
            counts[i] = random.Next(3) switch { 0 => 0, 1 => random.Next(1, 10), _ => random.NextInt64(1, 1L << 40) };
        }
        return FrequencyTable.FromCounts(counts);
    }

    private static (byte[] Stream, List<(FrequencyTable Table, int Symbol)> Coded) Encode(Random random, int symbols, uint check)
    {
        var tables = Enumerable.Range(0, 8).Select(_ => RandomTable(random)).ToList();
        var coded = new List<(FrequencyTable, int)>();
        var encoder = new RansEncoder();
        for (var i = 0; i < symbols; i++)
        {
            var table = tables[random.Next(tables.Count)];
            // Mostly likely symbols, sometimes the least likely one (frequency 1).
            var symbol = random.Next(10) == 0 ? Enumerable.Range(0, table.SymbolCount).MinBy(table.Frequency) : table.Find(random.Next(FrequencyTable.Scale));
            encoder.Put(table, symbol);
            coded.Add((table, symbol));
        }
        return (Finish(encoder, check), coded);
    }

    [Fact]
    public void Random_streams_under_random_tables_round_trip_and_return_the_check()
    {
        var random = new Random(11);
        for (var run = 0; run < 300; run++)
        {
            var check = (uint)random.Next() & RansEncoder.CheckMask;
            var (stream, coded) = Encode(random, random.Next(0, 400), check);
            var trailing = new byte[] { 0xAA, 0xBB };
            var decoder = new RansDecoder([.. stream, .. trailing]);
            foreach (var (table, symbol) in coded)
                Assert.Equal(symbol, decoder.Get(table));
            Assert.True(decoder.EndedInStartState);
            Assert.Equal(check, decoder.Check);
            Assert.Equal(stream.Length, decoder.Position); // the bytes after the stream are not touched
        }
    }

    [Fact]
    public void Uniform_bytes_cost_exactly_eight_bits_and_an_empty_stream_is_the_four_byte_state()
    {
        var encoder = new RansEncoder();
        Assert.Equal(4, Finish(encoder, 5).Length);
        for (var i = 0; i < 1000; i++)
            encoder.PutByte((byte)(i * 37));
        var stream = Finish(encoder, 5);
        Assert.InRange(stream.Length, 1000, 1004);
        var decoder = new RansDecoder(stream);
        for (var i = 0; i < 1000; i++)
            Assert.Equal((byte)(i * 37), decoder.GetByte());
        Assert.Equal(5u, decoder.Check);
    }

    [Fact]
    public void Tables_give_every_symbol_a_frequency_and_sum_to_the_scale_whatever_the_counts()
    {
        long[][] cases =
        [
            [0], [0, 0, 0], [1, 0, 0, 0], [long.MaxValue / 4, 1, 0], [.. Enumerable.Repeat(1L, FrequencyTable.Scale)],
            [.. Enumerable.Range(0, 1026).Select(i => (long)i * i)],
        ];
        foreach (var counts in cases)
        {
            var table = FrequencyTable.FromCounts(counts);
            Assert.Equal(counts.Length, table.SymbolCount);
            Assert.Equal(FrequencyTable.Scale, table.Starts[^1]);
            Assert.All(Enumerable.Range(0, counts.Length), s => Assert.True(table.Frequency(s) >= 1));
            for (var s = 0; s < counts.Length; s++)
                Assert.Equal(s, table.Find(table.Start(s) + table.Frequency(s) - 1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => FrequencyTable.FromCounts(new long[FrequencyTable.Scale + 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrequencyTable.FromCounts([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrequencyTable.FromCounts([-1, 3]));
    }

    [Fact]
    public void Truncated_or_damaged_streams_fail_or_end_off_the_start_state_never_crash()
    {
        var random = new Random(5);
        var caught = 0;
        for (var run = 0; run < 500; run++)
        {
            var check = (uint)random.Next() & RansEncoder.CheckMask;
            var (stream, coded) = Encode(random, random.Next(1, 60), check);
            var damaged = stream.ToArray();
            if (run % 2 == 0)
                damaged = damaged[..random.Next(0, damaged.Length)];
            else
                damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                var decoder = new RansDecoder(damaged);
                var same = true;
                foreach (var (table, symbol) in coded)
                    same &= decoder.Get(table) == symbol;
                if (!decoder.EndedInStartState || decoder.Check != check || !same)
                    caught++;
            }
            catch (CodecFormatException)
            {
                caught++;
            }
        }
        // Every damaged stream is noticed: by running out of bytes, by symbols, or by the 23-bit check.
        Assert.Equal(500, caught);
    }

    private static byte[] Finish(RansEncoder encoder, uint check)
    {
        var writer = new WireWriter();
        encoder.Finish(check, writer);
        return writer.Written.ToArray();
    }
}

using System.Buffers;
using System.Text;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>FixedString(N): exactly N bytes, zero padded; a longer value is an error rather than silently cut.</summary>
public sealed class FixedStringType : ClickHouseType
{
    internal FixedStringType(string name, int length) : base(name)
    {
        if (length < 1)
            throw new FormatException($"malformed ClickHouse type '{name}': length must be positive");
        Length = length;
    }

    public int Length { get; }

    protected override void WriteNull(IBufferWriter<byte> output)
    {
        output.GetSpan(Length)[..Length].Clear();
        output.Advance(Length);
    }

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        var slot = output.GetSpan(Length)[..Length];
        int used;
        if (value.Kind == FieldKind.String)
        {
            used = Encoding.UTF8.GetByteCount(value.Text!);
            if (used > Length)
                throw Reject(value, $"is {used} bytes, longer than {Length}");
            Encoding.UTF8.GetBytes(value.Text, slot);
        }
        else
        {
            Span<byte> utf8 = stackalloc byte[ScalarText.MaxLength];
            if (!ScalarText.TryFormat(value, utf8, out used))
                throw NotConvertible(value);
            if (used > Length)
                throw Reject(value, $"is {used} bytes as text, longer than {Length}");
            utf8[..used].CopyTo(slot);
        }
        slot[used..].Clear();
        output.Advance(Length);
    }
}

namespace EventPipeline.Stages.Events;

/// <summary>Settings of <see cref="EventDecoder"/>; the decoder copies them, so later changes have no effect.</summary>
public sealed record EventDecoderOptions
{
    public const int DefaultMaxMessageBytes = 1 << 20;

    /// <summary>Payloads longer than this are rejected as <see cref="DecodeErrorKind.Oversize"/> before parsing.</summary>
    public int MaxMessageBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxMessageBytes));
            field = value;
        }
    } = DefaultMaxMessageBytes;

    /// <summary>
    /// Names of top-level keys of <c>properties</c> to extract into <see cref="AnalyticsEvent.PropertyValues"/>,
    /// in this order. Empty: no extraction, and <see cref="AnalyticsEvent.PropertyValues"/> stays null.
    /// </summary>
    public IReadOnlyList<string> PropertyColumns
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(PropertyColumns));
    } = [];

    /// <summary>
    /// Whether payloads starting with 0x00 are read as Confluent Protobuf wire format; when false they are
    /// rejected as <see cref="DecodeErrorKind.UnsupportedFormat"/>.
    /// </summary>
    public bool AcceptConfluentProtobuf { get; init; } = true;

    /// <summary>
    /// Schema ids (Decode:ProtobufSchemaIds) a Confluent-framed Protobuf payload may carry; any other id is rejected as
    /// <see cref="DecodeErrorKind.UnknownSchema"/>. Empty: every schema id is accepted.
    /// </summary>
    public IReadOnlyCollection<int> ProtobufSchemaIds
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(ProtobufSchemaIds));
    } = [];
}

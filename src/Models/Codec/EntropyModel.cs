using System.Security.Cryptography;
using System.Text.Json;

namespace EventPipeline.Models.Codec;

/// <summary>What the entropy-coded format codes as symbols, each under its own tables.</summary>
public enum CodedQuantity
{
    AppId,
    Platform,
    OsVersion,
    AppVersion,
    Country,
    EventName,
    PropertiesTemplate,
    Revenue,
    PropertyValue0,
    PropertyValue1,
    PropertyValue2,
    UserIdLength,
    DeviceIdLength,
    TimestampLength,
    UserIdHead,
    DeviceIdHead,
    TimestampByte,
}

/// <summary>The count tables of an entropy-coded model (codec.tables.json), by quantity.</summary>
public sealed record EntropyTables
{
    public required SortedDictionary<CodedQuantity, ContextCounts> Counts { get; init; }
}

/// <summary>
/// The count-based model of the entropy-coded format: which symbols an event becomes, in which order, under which
/// context, and the frequency tables for each. The categorical fields are conditioned on the field they depend on
/// most (platform, versions, country and event name on app_id; the properties template on the event name; property
/// values on the template); the side channel's lengths and leading bytes on the field that decides their shape. The
/// random identifiers (event_id, the bodies of user_id and device_id) and the rest of the side channel (escaped
/// strings, property numbers) are not modelled: they follow the coded stream verbatim, where the producer's batch
/// compression finds a user's ids and a new app's strings repeated (rANS-coding them made them unmatchable and
/// lost more on the wire than it saved per message: docs/learned-codec.md).
/// </summary>
internal sealed class EntropyModel
{
    /// <summary>Bytes of user_id and device_id (their shape tag and length) coded under tables; the rest is verbatim.</summary>
    public const int IdHeadBytes = 2;

    /// <summary>Lengths at or above this are an escape followed by the length in 4 uniform bytes.</summary>
    public const int LengthEscape = 255;

    public const int MaxLength = 1 << 24;

    private const int TimestampPositions = 10;

    private static readonly CodedQuantity[] FieldQuantities =
    [
        CodedQuantity.AppId, CodedQuantity.EventName, CodedQuantity.Platform, CodedQuantity.OsVersion, CodedQuantity.AppVersion,
        CodedQuantity.Country, CodedQuantity.PropertiesTemplate, CodedQuantity.Revenue, CodedQuantity.PropertyValue0,
        CodedQuantity.PropertyValue1, CodedQuantity.PropertyValue2,
    ];

    /// <summary>The order fields are coded in: each after the field it is conditioned on.</summary>
    private static readonly CodecField[] FieldOrder =
    [
        CodecField.AppId, CodecField.Platform, CodecField.OsVersion, CodecField.AppVersion, CodecField.Country, CodecField.EventName,
        CodecField.PropertiesTemplate, CodecField.Revenue, CodecField.PropertyValue0, CodecField.PropertyValue1, CodecField.PropertyValue2,
    ];

    private readonly ContextTable[] _tables;

    public EntropyModel(EntropyTables tables, int[] fieldSizes)
    {
        Tables = tables;
        _tables = new ContextTable[Enum.GetValues<CodedQuantity>().Length];
        foreach (var quantity in Enum.GetValues<CodedQuantity>())
        {
            if (!tables.Counts.TryGetValue(quantity, out var counts))
                throw new CodecModelException($"the model has no table for {quantity}");
            var expected = SymbolCount(quantity, fieldSizes);
            if (counts.Symbols != expected)
                throw new CodecModelException($"{quantity}: table of {counts.Symbols} symbols, the vocabularies need {expected}");
            _tables[(int)quantity] = new ContextTable(counts);
        }
    }

    public EntropyTables Tables { get; }

    public ContextTable Table(CodedQuantity quantity) => _tables[(int)quantity];

    public static int SymbolCount(CodedQuantity quantity, int[] fieldSizes) => quantity switch
    {
        <= CodedQuantity.PropertyValue2 => fieldSizes[(int)FieldOf(quantity)],
        <= CodedQuantity.TimestampLength => LengthEscape + 1,
        _ => 256,
    };

    private static CodecField FieldOf(CodedQuantity quantity) => (CodecField)Array.IndexOf(FieldQuantities, quantity);

    /// <summary>Empty counts for every quantity, to be filled by <see cref="Symbols"/> over training events.</summary>
    public static EntropyTables EmptyCounts(int[] fieldSizes) => new()
    {
        Counts = new SortedDictionary<CodedQuantity, ContextCounts>(
            Enum.GetValues<CodedQuantity>().ToDictionary(q => q, q => ContextCounts.Empty(SymbolCount(q, fieldSizes)))),
    };

    /// <summary>A symbol to code: under <see cref="Table"/>(Quantity).For(Parent), or 8 uniform bits when Quantity is null.</summary>
    public readonly record struct Symbol(CodedQuantity? Quantity, int Parent, int Value);

    /// <summary>
    /// The symbols of one featurized event in coding order. <paramref name="side"/> is its side channel and
    /// <paramref name="segmentEnds"/> the ends of event_id, user_id, device_id and timestamp in it
    /// (<see cref="EventFeaturizer.SideSegments"/>). Whatever is not listed here (event_id, id bodies, the rest) goes verbatim.
    /// </summary>
    public static void Symbols(ReadOnlySpan<int> indices, ReadOnlySpan<byte> side, ReadOnlySpan<int> segmentEnds, List<Symbol> output)
    {
        foreach (var field in FieldOrder)
            output.Add(new Symbol(FieldQuantities[(int)field], FieldParent(field, indices), indices[(int)field]));
        var user = Segment(side, segmentEnds, 1);
        var device = Segment(side, segmentEnds, 2);
        var timestamp = Segment(side, segmentEnds, 3);
        var platform = indices[(int)CodecField.Platform];
        Length(CodedQuantity.UserIdLength, 0, user.Length, output);
        Length(CodedQuantity.DeviceIdLength, platform, device.Length, output);
        Length(CodedQuantity.TimestampLength, 0, timestamp.Length, output);
        for (var p = 0; p < Math.Min(IdHeadBytes, user.Length); p++)
            output.Add(new Symbol(CodedQuantity.UserIdHead, p, user[p]));
        for (var p = 0; p < Math.Min(IdHeadBytes, device.Length); p++)
            output.Add(new Symbol(CodedQuantity.DeviceIdHead, DeviceHeadParent(platform, p), device[p]));
        for (var p = 0; p < timestamp.Length; p++)
            output.Add(new Symbol(CodedQuantity.TimestampByte, TimestampParent(p), timestamp[p]));
    }

    public static int FieldParent(CodecField field, ReadOnlySpan<int> indices) => field switch
    {
        CodecField.AppId => 0,
        CodecField.Platform or CodecField.AppVersion or CodecField.Country or CodecField.EventName => indices[(int)CodecField.AppId],
        CodecField.OsVersion => indices[(int)CodecField.Platform],
        CodecField.PropertiesTemplate or CodecField.Revenue => indices[(int)CodecField.EventName],
        _ => indices[(int)CodecField.PropertiesTemplate],
    };

    public static IEnumerable<CodecField> FieldsInCodingOrder => FieldOrder;

    public static CodedQuantity QuantityOf(CodecField field) => FieldQuantities[(int)field];

    public static int DeviceHeadParent(int platform, int position) => platform * IdHeadBytes + position;

    public static int TimestampParent(int position) => Math.Min(position, TimestampPositions - 1);


    /// <summary>Segment 1 user_id, 2 device_id, 3 timestamp, 4 the rest, of a side channel with these segment ends.</summary>
    public static ReadOnlySpan<byte> Segment(ReadOnlySpan<byte> side, ReadOnlySpan<int> ends, int segment) =>
        segment < EventFeaturizer.SideSegments ? side[ends[segment - 1]..ends[segment]] : side[ends[segment - 1]..];

    private static void Length(CodedQuantity quantity, int parent, int length, List<Symbol> output)
    {
        output.Add(new Symbol(quantity, parent, Math.Min(length, LengthEscape)));
        if (length < LengthEscape)
            return;
        for (var b = 0; b < 4; b++)
            output.Add(new Symbol(null, 0, (length >> (8 * b)) & 0xFF));
    }

    /// <summary>
    /// A short digest of everything that decides how envelopes decode (schema, vocabularies, tables); the model id is
    /// derived from it, so a retrained model never reuses an id with other contents.
    /// </summary>
    public static string ContentHash(string schemaHash, FeaturizerVocabularies vocabularies, EntropyTables tables)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(schemaHash));
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(vocabularies, CodecArtifact.Json));
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(tables, CodecArtifact.Json));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Model ids of entropy-coded models: 1..16383 (a 2-byte varint), from the content hash.</summary>
    public static int ModelIdOf(string contentHash) => (int)(Convert.ToUInt32(contentHash[..8], 16) % 16383) + 1;
}

using System.Buffers;
using System.Text;
using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>The categorical features, in the order of the model's inputs and outputs and of the envelope.</summary>
public enum CodecField
{
    AppId,
    EventName,
    Platform,
    OsVersion,
    AppVersion,
    Country,
    PropertiesTemplate,
    Revenue,
    PropertyValue0,
    PropertyValue1,
    PropertyValue2,
}

/// <summary>What the featurizer learned from training events; saved in the artifact.</summary>
public sealed record FeaturizerVocabularies
{
    public required IReadOnlyList<string> AppIds { get; init; }
    public required IReadOnlyList<string> EventNames { get; init; }
    public required IReadOnlyList<string> Platforms { get; init; }
    public required IReadOnlyList<string> OsVersions { get; init; }
    public required IReadOnlyList<string> AppVersions { get; init; }
    public required IReadOnlyList<string> Countries { get; init; }
    public required IReadOnlyList<string> PropertiesTemplates { get; init; }

    /// <summary>Revenue values as IEEE-754 bit patterns, so that the vocabulary is exact.</summary>
    public required IReadOnlyList<long> RevenueBits { get; init; }

    public required IReadOnlyList<string> PropertyValues { get; init; }
    public required IReadOnlyList<string> IdPrefixes { get; init; }

    /// <summary>Timestamps travel as the difference to this (the training set's median), in milliseconds.</summary>
    public required long ReferenceTimestampMs { get; init; }
}

/// <summary>
/// Turns an event into the model's categorical indices plus a side channel, and back, exactly. Categorical fields go
/// through vocabularies learned from training data (unseen values escape into the side channel); event_id, user_id,
/// device_id, the timestamp (as a delta), numbers and rare strings always travel in the side channel, compactly coded.
/// One instance per thread: it keeps scratch buffers.
/// </summary>
internal sealed class EventFeaturizer
{
    public const int FieldCount = 11;
    public const int ValueSlots = 3;

    /// <summary>The side channel's leading segments: event_id (16 bytes), user_id, device_id, timestamp delta.</summary>
    public const int SideSegments = 4;

    public const int EventIdBytes = 16;

    private const int MaxStringBytes = 1 << 24;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Vocabulary[] _vocabularies;
    private readonly Dictionary<long, int> _revenueIndex;
    private readonly long[] _revenueBits;
    private readonly CompactString _strings;
    private readonly long _reference;
    private readonly WireWriter _template = new(256);
    private readonly WireWriter _text = new(1024);
    private readonly List<PropertiesTemplate.Value> _values = [];
    private byte[] _utf8 = new byte[1024];

    /// <param name="dottedDecimals">Code strings like "18.3.2" as numbers (format 2; format 1 keeps its wire format).</param>
    public EventFeaturizer(FeaturizerVocabularies vocabularies, bool dottedDecimals = false)
    {
        Vocabularies = vocabularies;
        var propertyValues = new Vocabulary(vocabularies.PropertyValues);
        _vocabularies =
        [
            new Vocabulary(vocabularies.AppIds), new Vocabulary(vocabularies.EventNames), new Vocabulary(vocabularies.Platforms),
            new Vocabulary(vocabularies.OsVersions), new Vocabulary(vocabularies.AppVersions), new Vocabulary(vocabularies.Countries),
            new Vocabulary(vocabularies.PropertiesTemplates), null!, propertyValues, propertyValues, propertyValues,
        ];
        _revenueBits = [.. vocabularies.RevenueBits];
        _revenueIndex = _revenueBits.Select((bits, i) => (bits, i)).ToDictionary(e => e.bits, e => e.i + Vocabulary.Reserved);
        _strings = new CompactString(vocabularies.IdPrefixes, dottedDecimals);
        _reference = vocabularies.ReferenceTimestampMs;
        FieldSizes = [.. Enumerable.Range(0, FieldCount).Select(f => f == (int)CodecField.Revenue ? _revenueBits.Length + Vocabulary.Reserved : _vocabularies[f].Size)];
    }

    public FeaturizerVocabularies Vocabularies { get; }

    /// <summary>Output classes per field (vocabulary + unseen + absent): the sizes of the model's heads.</summary>
    public int[] FieldSizes { get; }

    /// <summary>Learns the vocabularies from training events.</summary>
    public static FeaturizerVocabularies Learn(IReadOnlyList<AnalyticsEvent> events)
    {
        var templates = new List<string>();
        var values = new List<string>();
        var template = new WireWriter();
        var slots = new List<PropertiesTemplate.Value>();
        foreach (var e in events)
        {
            if (e.PropertiesJson is null)
                continue;
            var json = Encoding.UTF8.GetBytes(e.PropertiesJson);
            if (!PropertiesTemplate.TrySplit(json, template, slots))
                continue;
            templates.Add(Encoding.UTF8.GetString(template.Written));
            values.AddRange(slots.Where(v => v.IsString).Select(v => Encoding.UTF8.GetString(json, v.Start, v.Length)));
        }
        var timestamps = events.Select(e => e.EventTimestampMs).Order().ToArray();
        return new FeaturizerVocabularies
        {
            AppIds = Vocabulary.Learn(events.Select(e => e.AppId), 1024, 5).Entries,
            EventNames = Vocabulary.Learn(events.Select(e => e.EventName), 256, 5).Entries,
            Platforms = Vocabulary.Learn(events.Select(e => e.Platform), 16, 5).Entries,
            OsVersions = Vocabulary.Learn(events.Select(e => e.OsVersion), 256, 5).Entries,
            AppVersions = Vocabulary.Learn(events.Select(e => e.AppVersion), 1024, 5).Entries,
            Countries = Vocabulary.Learn(events.Select(e => e.Country), 256, 5).Entries,
            PropertiesTemplates = Vocabulary.Learn(templates, 512, 5).Entries,
            RevenueBits = [.. events.Where(e => e.Revenue is not null).GroupBy(e => BitConverter.DoubleToInt64Bits(e.Revenue!.Value))
                .Where(g => g.Count() >= 5).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(126).Select(g => g.Key)],
            PropertyValues = Vocabulary.Learn(values, 256, 20).Entries,
            IdPrefixes = CompactString.LearnPrefixes(events.SelectMany(e => new[] { e.UserId, e.DeviceId }).Concat(values)),
            ReferenceTimestampMs = timestamps.Length == 0 ? 0 : timestamps[timestamps.Length / 2],
        };
    }

    /// <summary>
    /// Writes the indices of <paramref name="e"/> into <paramref name="indices"/> and its side channel to
    /// <paramref name="side"/>. False when the event holds text that is not valid Unicode (a lone surrogate): it
    /// cannot be coded exactly, and its producer sends it uncoded.
    /// </summary>
    public bool TryFeaturize(AnalyticsEvent e, Span<int> indices, WireWriter side) =>
        TryFeaturize(e, indices, side, _reference, []);

    /// <summary>
    /// As above, with the timestamp coded against <paramref name="referenceMs"/> (the Kafka record timestamp in the
    /// entropy-coded format) and, when <paramref name="segmentEnds"/> has room for <see cref="SideSegments"/>, the ends
    /// of event_id, user_id, device_id and the timestamp within this event's side channel (the rest follows them).
    /// </summary>
    /// <param name="appIdFromKey">app_id travels as the record key: its index is set, its name never enters the side channel.</param>
    public bool TryFeaturize(AnalyticsEvent e, Span<int> indices, WireWriter side, long referenceMs, Span<int> segmentEnds, bool appIdFromKey = false)
    {
        var start = side.Length;
        try
        {
            Featurize(e, indices, side, referenceMs, segmentEnds, start, appIdFromKey);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private void Featurize(AnalyticsEvent e, Span<int> indices, WireWriter side, long reference, Span<int> segmentEnds, int start, bool appIdFromKey)
    {
        Span<byte> id = side.Reserve(16);
        e.EventId.TryWriteBytes(id);
        var marking = segmentEnds.Length >= SideSegments;
        if (marking)
            segmentEnds[0] = side.Length - start;
        WriteString(side, e.UserId);
        if (marking)
            segmentEnds[1] = side.Length - start;
        WriteString(side, e.DeviceId);
        if (marking)
            segmentEnds[2] = side.Length - start;
        side.VarInt(unchecked(e.EventTimestampMs - reference));
        if (marking)
            segmentEnds[3] = side.Length - start;

        if (appIdFromKey)
            indices[(int)CodecField.AppId] = AppIdIndex(Utf8(e.AppId));
        else
            Categorical(indices, side, CodecField.AppId, e.AppId);
        Categorical(indices, side, CodecField.EventName, e.EventName);
        Categorical(indices, side, CodecField.Platform, e.Platform);
        Categorical(indices, side, CodecField.OsVersion, e.OsVersion);
        Categorical(indices, side, CodecField.AppVersion, e.AppVersion);
        Categorical(indices, side, CodecField.Country, e.Country);

        // Revenue before the properties: the template's side-channel data is variable and comes last.
        if (e.Revenue is not { } revenue)
            indices[(int)CodecField.Revenue] = Vocabulary.Absent;
        else if (_revenueIndex.TryGetValue(BitConverter.DoubleToInt64Bits(revenue), out var revenueIndex))
            indices[(int)CodecField.Revenue] = revenueIndex;
        else
        {
            indices[(int)CodecField.Revenue] = Vocabulary.Unseen;
            side.Int64LittleEndian(BitConverter.DoubleToInt64Bits(revenue));
        }

        indices[(int)CodecField.PropertyValue0] = indices[(int)CodecField.PropertyValue1] = indices[(int)CodecField.PropertyValue2] = Vocabulary.Absent;
        if (e.PropertiesJson is not { } properties)
        {
            indices[(int)CodecField.PropertiesTemplate] = Vocabulary.Absent;
            return;
        }
        var json = Utf8(properties);
        if (!PropertiesTemplate.TrySplit(json, _template, _values))
        {
            indices[(int)CodecField.PropertiesTemplate] = Vocabulary.Unseen;
            side.Byte(1); // verbatim
            side.Utf8WithLength(json);
            return;
        }
        var templateIndex = _vocabularies[(int)CodecField.PropertiesTemplate].IndexOf(_template.Written);
        indices[(int)CodecField.PropertiesTemplate] = templateIndex;
        if (templateIndex == Vocabulary.Unseen)
        {
            side.Byte(0); // a template of its own
            side.Utf8WithLength(_template.Written);
        }
        var slot = 0;
        foreach (var value in _values)
        {
            var text = json.Slice(value.Start, value.Length);
            if (!value.IsString)
            {
                CompactNumber.Write(side, text);
                continue;
            }
            if (slot < ValueSlots)
            {
                var index = _vocabularies[(int)CodecField.PropertyValue0].IndexOf(text);
                indices[(int)CodecField.PropertyValue0 + slot++] = index;
                if (index != Vocabulary.Unseen)
                    continue;
            }
            _strings.Write(side, text);
        }
    }

    /// <summary>Rebuilds the event from its indices and side channel; the reader must end exactly at the side channel's end.</summary>
    public AnalyticsEvent Rebuild(ReadOnlySpan<int> indices, ref WireReader side) => Rebuild(indices, ref side, _reference);

    /// <summary>
    /// As above, the timestamp being a delta to <paramref name="referenceMs"/>, and app_id <paramref name="appIdFromKey"/>
    /// when it travelled as the record key (its index in <paramref name="indices"/> is then <see cref="AppIdIndex"/> of it).
    /// </summary>
    public AnalyticsEvent Rebuild(ReadOnlySpan<int> indices, ref WireReader side, long referenceMs, string? appIdFromKey = null)
    {
        for (var f = 0; f < FieldCount; f++)
        {
            if ((uint)indices[f] >= (uint)FieldSizes[f])
                throw new CodecFormatException($"{(CodecField)f} index {indices[f]} out of range (model has {FieldSizes[f]})");
        }
        var e = new AnalyticsEvent { EventId = new Guid(side.Bytes(16)) };
        e.UserId = ReadString(ref side);
        e.DeviceId = ReadString(ref side);
        e.EventTimestampMs = unchecked(referenceMs + side.VarInt());
        e.AppId = appIdFromKey ?? Categorical(indices, ref side, CodecField.AppId);
        e.EventName = Categorical(indices, ref side, CodecField.EventName);
        e.Platform = Categorical(indices, ref side, CodecField.Platform);
        e.OsVersion = Categorical(indices, ref side, CodecField.OsVersion);
        e.AppVersion = Categorical(indices, ref side, CodecField.AppVersion);
        e.Country = Categorical(indices, ref side, CodecField.Country);
        e.Revenue = indices[(int)CodecField.Revenue] switch
        {
            Vocabulary.Absent => null,
            Vocabulary.Unseen => BitConverter.Int64BitsToDouble(side.Int64LittleEndian()),
            var index => BitConverter.Int64BitsToDouble(_revenueBits[index - Vocabulary.Reserved]),
        };
        e.PropertiesJson = RebuildProperties(indices, ref side);
        return e;
    }

    private string? RebuildProperties(ReadOnlySpan<int> indices, ref WireReader side)
    {
        var templateIndex = indices[(int)CodecField.PropertiesTemplate];
        var values = _vocabularies[(int)CodecField.PropertyValue0];
        if (templateIndex == Vocabulary.Absent)
        {
            RequireAbsentSlots(indices, 0);
            return null;
        }
        ReadOnlySpan<byte> template;
        if (templateIndex != Vocabulary.Unseen)
            template = _vocabularies[(int)CodecField.PropertiesTemplate].EntryUtf8(templateIndex);
        else
        {
            var mode = side.Byte();
            if (mode == 1)
            {
                RequireAbsentSlots(indices, 0);
                return Text(side.Utf8WithLength(MaxStringBytes));
            }
            if (mode != 0)
                throw new CodecFormatException($"unknown properties mode {mode}");
            template = side.Utf8WithLength(MaxStringBytes);
        }
        _text.Reset();
        var slot = 0;
        foreach (var b in template)
        {
            if (b == PropertiesTemplate.NumberSlot)
                CompactNumber.Read(ref side, _text);
            else if (b == PropertiesTemplate.StringSlot)
            {
                _text.Byte((byte)'"');
                var index = slot < ValueSlots ? indices[(int)CodecField.PropertyValue0 + slot++] : Vocabulary.Unseen;
                if (index == Vocabulary.Absent)
                    throw new CodecFormatException($"property value {slot - 1} marked absent but the template has it");
                if (index == Vocabulary.Unseen)
                    _strings.Read(ref side, _text);
                else
                    _text.Bytes(values.EntryUtf8(index));
                _text.Byte((byte)'"');
            }
            else
                _text.Byte(b);
        }
        RequireAbsentSlots(indices, slot);
        return Text(_text.Written);
    }

    private static void RequireAbsentSlots(ReadOnlySpan<int> indices, int from)
    {
        for (var slot = from; slot < ValueSlots; slot++)
        {
            if (indices[(int)CodecField.PropertyValue0 + slot] != Vocabulary.Absent)
                throw new CodecFormatException($"property value {slot} present but the template has no such value");
        }
    }

    private void Categorical(Span<int> indices, WireWriter side, CodecField field, string value)
    {
        var utf8 = Utf8(value);
        var index = _vocabularies[(int)field].IndexOf(utf8);
        indices[(int)field] = index;
        if (index == Vocabulary.Unseen)
            _strings.Write(side, utf8);
    }

    private string Categorical(ReadOnlySpan<int> indices, ref WireReader side, CodecField field)
    {
        var index = indices[(int)field];
        if (index == Vocabulary.Absent)
            throw new CodecFormatException($"{field} cannot be absent");
        return index == Vocabulary.Unseen ? ReadString(ref side) : _vocabularies[(int)field].Entry(index);
    }

    /// <summary>The app_id's vocabulary index (<see cref="Vocabulary.Unseen"/> for an app the model never saw).</summary>
    public int AppIdIndex(ReadOnlySpan<byte> utf8) => _vocabularies[(int)CodecField.AppId].IndexOf(utf8);

    private void WriteString(WireWriter side, string value) => _strings.Write(side, Utf8(value));

    private string ReadString(ref WireReader side)
    {
        _text.Reset();
        _strings.Read(ref side, _text);
        return Text(_text.Written);
    }

    private static string Text(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw new CodecFormatException("a string in the envelope is not valid UTF-8");
        }
    }

    /// <summary>The UTF-8 bytes of <paramref name="value"/> in a reused buffer (valid until the next call).</summary>
    private ReadOnlySpan<byte> Utf8(string value)
    {
        var max = StrictUtf8.GetMaxByteCount(value.Length);
        if (max > _utf8.Length)
            _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
        return _utf8.AsSpan(0, StrictUtf8.GetBytes(value, _utf8));
    }
}

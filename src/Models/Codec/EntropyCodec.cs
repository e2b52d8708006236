using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>
/// The entropy-coded event codec (envelope format 2): each event's fields, lengths and modelled side-channel bytes are
/// rANS-coded under the count-based tables of <see cref="EntropyModel"/>; event_id, the bodies of user_id and
/// device_id and the rest of the side channel follow verbatim; the event time is a delta to the Kafka record
/// timestamp, which every consumer has.
/// </summary>
/// <remarks>
/// Envelope: 0xEC | 2&lt;&lt;4 | mode | varint model id | rANS stream | event_id (16) | user_id body | device_id body |
/// rest of the side channel (escaped strings, property numbers; it ends with the payload). Mode 2 is self-contained;
/// mode 3 (<see cref="AppIdFromKey"/>) leaves app_id out, as the record key carries it (`produce` keys by app_id), and
/// its check covers the key, so an envelope produced again under another key is rejected, never decoded as another app.
/// The rANS coder starts from <c>2^23 + check</c>, check = the low 23 bits of CRC-32 over the decoded indices, side
/// channel, absolute event time and model id; a decoder that does not end in exactly that state (damaged payload, a
/// record timestamp the broker rewrote, a model that decodes differently) rejects the envelope as codec_corrupt.
/// Not thread-safe: each stage instance owns its codec.
/// </remarks>
public sealed class EntropyCodec : ICodecModel
{
    public const int Mode = 2;

    /// <summary>The mode whose envelopes take app_id from the record key.</summary>
    public const int KeyedMode = 3;

    private const int FieldCount = EventFeaturizer.FieldCount;

    private readonly EventFeaturizer _featurizer;
    private readonly EntropyModel _model;
    private readonly RansEncoder _rans = new();
    private readonly WireWriter _side = new(4096);
    private readonly WireWriter _streamed = new(1024);
    private readonly WireWriter _envelope = new(1024);
    private readonly List<EntropyModel.Symbol> _symbols = [];
    private readonly int[] _indices = new int[FieldCount];
    private readonly int[] _ends = new int[EventFeaturizer.SideSegments];
    private readonly Crc32 _crc = new();

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal EntropyCodec(CodecMetadata metadata, EntropyTables tables)
    {
        Metadata = metadata;
        _featurizer = new EventFeaturizer(metadata.Vocabularies, dottedDecimals: true);
        _model = new EntropyModel(tables, _featurizer.FieldSizes);
    }

    public CodecMetadata Metadata { get; }

    public int ModelId => Metadata.ModelId;

    public int FormatVersion => CodecEnvelope.EntropyFormatVersion;

    public double TrainedBytesPerEvent => Metadata.Evaluation.BytesPerEvent;

    public string ContentHash => Metadata.ContentHash;

    internal EntropyModel Model => _model;

    /// <summary>
    /// Encode writes mode-3 envelopes, without app_id: each must be produced with its event's app_id (UTF-8) as the record
    /// key. Decoding reads both modes whatever this says.
    /// </summary>
    public bool AppIdFromKey { get; set; }

    public void Encode(IReadOnlyList<AnalyticsEvent> events, ReadOnlySpan<long> recordTimestampsMs, Span<byte[]?> envelopes)
    {
        for (var i = 0; i < events.Count; i++)
            envelopes[i] = EncodeOne(events[i], recordTimestampsMs[i]);
    }

    private byte[]? EncodeOne(AnalyticsEvent e, long recordTimestampMs)
    {
        _side.Reset();
        var keyed = AppIdFromKey;
        if (!_featurizer.TryFeaturize(e, _indices, _side, recordTimestampMs, _ends, appIdFromKey: keyed))
            return null;
        var side = _side.Written;
        _symbols.Clear();
        EntropyModel.Symbols(_indices, side, _ends, _symbols);
        _rans.Reset();
        foreach (var symbol in _symbols)
        {
            if (keyed && symbol.Quantity == CodedQuantity.AppId)
                continue; // the decoder knows it from the key
            if (symbol.Quantity is { } quantity)
                _rans.Put(_model.Table(quantity).For(symbol.Parent), symbol.Value);
            else
                _rans.PutByte((byte)symbol.Value);
        }
        _envelope.Reset();
        WriteHeader(_envelope, keyed ? KeyedMode : Mode);
        _rans.Finish(Check(_indices, side, e.EventTimestampMs, keyed ? Encoding.UTF8.GetBytes(e.AppId) : null), _envelope);
        _envelope.Bytes(side[..EventFeaturizer.EventIdBytes]);
        _envelope.Bytes(Body(EntropyModel.Segment(side, _ends, 1)));
        _envelope.Bytes(Body(EntropyModel.Segment(side, _ends, 2)));
        _envelope.Bytes(EntropyModel.Segment(side, _ends, 4));
        return _envelope.Written.ToArray();
    }

    /// <summary>
    /// Where the bits of <paramref name="events"/> go, per event: each coded quantity's information content under its
    /// table (-log2 of its probability), and the verbatim bytes (event_id, id bodies) in bits. For evaluation and
    /// the bench; the envelope adds its header and the coder's 4-byte state.
    /// </summary>
    public IReadOnlyDictionary<string, double> BitsPerEvent(IReadOnlyList<AnalyticsEvent> events, ReadOnlySpan<long> recordTimestampsMs)
    {
        var bits = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var coded = 0;
        for (var i = 0; i < events.Count; i++)
        {
            _side.Reset();
            if (!_featurizer.TryFeaturize(events[i], _indices, _side, recordTimestampsMs[i], _ends))
                continue;
            coded++;
            _symbols.Clear();
            EntropyModel.Symbols(_indices, _side.Written, _ends, _symbols);
            foreach (var symbol in _symbols)
            {
                var name = symbol.Quantity?.ToString() ?? "LengthEscape";
                var table = symbol.Quantity is { } quantity ? _model.Table(quantity).For(symbol.Parent) : FrequencyTable.UniformBytes;
                bits[name] = bits.GetValueOrDefault(name) + FrequencyTable.ScaleBits - Math.Log2(table.Frequency(symbol.Value));
            }
            var verbatim = EventFeaturizer.EventIdBytes + Body(EntropyModel.Segment(_side.Written, _ends, 1)).Length + Body(EntropyModel.Segment(_side.Written, _ends, 2)).Length
                           + EntropyModel.Segment(_side.Written, _ends, 4).Length;
            bits["Verbatim"] = bits.GetValueOrDefault("Verbatim") + 8.0 * verbatim;
        }
        return bits.ToDictionary(b => b.Key, b => Math.Round(b.Value / Math.Max(1, coded), 2));
    }

    /// <summary>
    /// Bytes of user_id and device_id that <paramref name="e"/>'s envelope carries verbatim (0 if it cannot be coded):
    /// what a reference to an earlier message would replace. For the bench's bound on a cross-message context.
    /// </summary>
    internal int VerbatimIdBytes(AnalyticsEvent e, long recordTimestampMs)
    {
        _side.Reset();
        if (!_featurizer.TryFeaturize(e, _indices, _side, recordTimestampMs, _ends))
            return 0;
        return Body(EntropyModel.Segment(_side.Written, _ends, 1)).Length + Body(EntropyModel.Segment(_side.Written, _ends, 2)).Length;
    }

    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, IReadOnlyList<byte[]?>? recordKeys,
        Span<EnvelopeDecodeResult> results)
    {
        for (var i = 0; i < payloads.Count; i++)
        {
            try
            {
                results[i] = new EnvelopeDecodeResult(DecodeOne(payloads[i].Span, recordTimestampsMs[i], recordKeys is null, recordKeys?[i]), null, null);
            }
            catch (CodecFormatException ex)
            {
                results[i] = EnvelopeDecodeResult.Failure("codec_corrupt", $"corrupt codec envelope (model {ModelId}): {ex.Message}");
            }
        }
    }

    private AnalyticsEvent DecodeOne(ReadOnlySpan<byte> payload, long recordTimestampMs, bool keysUnknown, byte[]? key)
    {
        var header = new WireReader(payload);
        if (header.Byte() != CodecEnvelope.Magic)
            throw new CodecFormatException("not a codec envelope");
        var versionAndMode = header.Byte();
        var mode = versionAndMode & 0xF;
        if (versionAndMode >> 4 != CodecEnvelope.EntropyFormatVersion || mode is not (Mode or KeyedMode))
            throw new CodecFormatException($"envelope format {versionAndMode >> 4} mode {mode}; this model reads format {CodecEnvelope.EntropyFormatVersion} modes {Mode} and {KeyedMode}");
        string? appId = null;
        if (mode == KeyedMode)
        {
            if (keysUnknown)
                throw new CodecFormatException("a mode-3 envelope takes app_id from its Kafka record key, which is not known here");
            if (key is null)
                throw new CodecFormatException("a mode-3 envelope takes app_id from its Kafka record key, and the record has none");
            try
            {
                appId = StrictUtf8.GetString(key);
            }
            catch (DecoderFallbackException)
            {
                throw new CodecFormatException("the record key of a mode-3 envelope is not UTF-8, so it is not an app_id");
            }
        }
        header.VarUInt();
        var rans = new RansDecoder(payload[header.Position..]);
        foreach (var field in EntropyModel.FieldsInCodingOrder)
        {
            _indices[(int)field] = appId is not null && field == CodecField.AppId
                ? _featurizer.AppIdIndex(key)
                : rans.Get(_model.Table(EntropyModel.QuantityOf(field)).For(EntropyModel.FieldParent(field, _indices)));
        }
        var platform = _indices[(int)CodecField.Platform];
        var userLength = Length(ref rans, CodedQuantity.UserIdLength, 0);
        var deviceLength = Length(ref rans, CodedQuantity.DeviceIdLength, platform);
        var timestampLength = Length(ref rans, CodedQuantity.TimestampLength, 0);
        // A varint is at most 10 bytes; a longer claim would make the decoder expand a few bytes into many symbols.
        if (timestampLength > 10)
            throw new CodecFormatException($"timestamp delta of {timestampLength} bytes (at most 10)");

        // The coded bytes, in coding order: user head, device head, timestamp.
        _streamed.Reset();
        var userHead = Math.Min(EntropyModel.IdHeadBytes, userLength);
        var deviceHead = Math.Min(EntropyModel.IdHeadBytes, deviceLength);
        var userTable = _model.Table(CodedQuantity.UserIdHead);
        for (var p = 0; p < userHead; p++)
            _streamed.Byte((byte)rans.Get(userTable.For(p)));
        var deviceTable = _model.Table(CodedQuantity.DeviceIdHead);
        for (var p = 0; p < deviceHead; p++)
            _streamed.Byte((byte)rans.Get(deviceTable.For(EntropyModel.DeviceHeadParent(platform, p))));
        var timestampTable = _model.Table(CodedQuantity.TimestampByte);
        for (var p = 0; p < timestampLength; p++)
            _streamed.Byte((byte)rans.Get(timestampTable.For(EntropyModel.TimestampParent(p))));
        if (!rans.EndedInStartState)
            throw new CodecFormatException("the entropy-coded stream does not end where an encoder starts");

        var tail = payload[(header.Position + rans.Position)..];
        var verbatimIds = EventFeaturizer.EventIdBytes + (userLength - userHead) + (deviceLength - deviceHead);
        if (tail.Length < verbatimIds)
            throw new CodecFormatException($"{tail.Length} bytes after the coded stream, the stream announces at least {verbatimIds}");
        var streamed = _streamed.Written;
        _side.Reset();
        _side.Bytes(tail[..EventFeaturizer.EventIdBytes]);
        var at = EventFeaturizer.EventIdBytes;
        _side.Bytes(streamed[..userHead]);
        _side.Bytes(tail.Slice(at, userLength - userHead));
        at += userLength - userHead;
        _side.Bytes(streamed.Slice(userHead, deviceHead));
        _side.Bytes(tail.Slice(at, deviceLength - deviceHead));
        _side.Bytes(streamed[(userHead + deviceHead)..]);
        _side.Bytes(tail[verbatimIds..]);

        var side = _side.Written;
        var reader = new WireReader(side);
        var e = _featurizer.Rebuild(_indices, ref reader, recordTimestampMs, appId);
        if (reader.Remaining != 0)
            throw new CodecFormatException($"{reader.Remaining} side-channel bytes after the event");
        if (Check(_indices, side, e.EventTimestampMs, appId is null ? null : key) != rans.Check)
            throw new CodecFormatException("check mismatch (the payload or its record timestamp was changed, or this consumer's model decodes differently from the producer's)");
        return e;
    }

    private int Length(ref RansDecoder rans, CodedQuantity quantity, int parent)
    {
        var length = rans.Get(_model.Table(quantity).For(parent));
        if (length < EntropyModel.LengthEscape)
            return length;
        length = 0;
        for (var b = 0; b < 4; b++)
            length |= rans.GetByte() << (8 * b);
        if ((uint)length > EntropyModel.MaxLength)
            throw new CodecFormatException($"{quantity} {(uint)length} out of range (limit {EntropyModel.MaxLength})");
        return length;
    }

    private static ReadOnlySpan<byte> Body(ReadOnlySpan<byte> id) => id.Length > EntropyModel.IdHeadBytes ? id[EntropyModel.IdHeadBytes..] : [];

    private void WriteHeader(WireWriter writer, int mode)
    {
        writer.Byte(CodecEnvelope.Magic);
        writer.Byte((byte)((CodecEnvelope.EntropyFormatVersion << 4) | mode));
        writer.VarUInt((ulong)ModelId);
    }

    /// <param name="key">Mode 3: the record key, which decides app_id.</param>
    private uint Check(ReadOnlySpan<int> indices, ReadOnlySpan<byte> side, long eventTimestampMs, byte[]? key)
    {
        _crc.Reset();
        _crc.Append(MemoryMarshal.AsBytes(indices));
        _crc.Append(side);
        if (key is not null)
            _crc.Append(key);
        Span<byte> scalars = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(scalars, eventTimestampMs);
        BinaryPrimitives.WriteInt32LittleEndian(scalars[8..], ModelId);
        _crc.Append(scalars);
        return _crc.GetCurrentHashAsUInt32() & RansEncoder.CheckMask;
    }

    public void Dispose()
    {
    }
}

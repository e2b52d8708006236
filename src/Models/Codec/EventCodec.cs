using System.Buffers.Binary;
using System.IO.Hashing;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using TorchSharp;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using static TorchSharp.torch;

namespace EventPipeline.Models.Codec;

/// <summary>
/// One codec model: encodes events into envelopes and decodes them back, a batch per forward pass, exactly.
/// </summary>
/// <remarks>
/// Envelope: magic 0xEC | version&lt;&lt;4 | mode | varint model id | 16-bit check | body | side channel.
/// Mode 1 (autoencoder) body: the quantised latent, a varint bit mask of the fields the decoder gets wrong, and the
/// right index of each. Mode 0 (featurizer only, the ablation) body: every field's index as a varint. The check is
/// CRC-32 (low 16 bits) of the decoded indices and side channel: it catches a corrupt payload and a consumer whose
/// model, though of the same id, decodes differently. A field whose top two logits are closer than
/// <see cref="DecisionMargin"/> is always corrected, so float differences between machines (CPU vs GPU, batch
/// size) cannot flip the decoder's choice.
/// Not thread-safe: each stage instance owns its codec.
/// </remarks>
public sealed class EventCodec : ICodecModel
{
    public const float DecisionMargin = 0.05f;

    private const int FieldCount = EventFeaturizer.FieldCount;

    /// <summary>Every field explicit: how a mode-0 (featurizer only) envelope is decoded.</summary>
    private const uint FullMask = (1u << FieldCount) - 1;

    private readonly EventFeaturizer _featurizer;
    private readonly CodecNetwork? _network;
    private readonly Device _device;
    private readonly WireWriter _side = new(1 << 16);
    private readonly WireWriter _envelope = new(1024);
    private readonly Crc32 _crc = new();
    private int[] _indices = new int[FieldCount * 256];
    private int[] _sideEnds = new int[256];
    private float[] _logits = [];

    // Reused across batches: a batch of 4096 makes these 150-350 KB each, which would land on the large object heap
    // on every call.
    private long[] _input = [];
    private long[] _codes = [];
    private int[] _predicted = [];
    private float[] _margins = [];

    internal EventCodec(CodecMetadata metadata, CodecNetwork? network, Device device)
    {
        Metadata = metadata;
        _featurizer = new EventFeaturizer(metadata.Vocabularies);
        _network = network;
        _device = device;
        if (network is not null)
        {
            network.to(device);
            network.eval();
        }
    }

    public CodecMetadata Metadata { get; }

    /// <summary>Fields corrected explicitly in the last <see cref="Encode"/> call (for evaluation and metrics).</summary>
    public long CorrectionsInLastEncode { get; private set; }

    public int ModelId => Metadata.ModelId;

    public int FormatVersion => CodecEnvelope.FormatVersion;

    public double TrainedBytesPerEvent => UsesNetwork ? Metadata.Evaluation.BytesPerEvent : Metadata.Evaluation.FeaturizerOnlyBytesPerEvent;

    public string ContentHash => Metadata.ContentHash;

    /// <summary>Format 1 codes the event time against the model's reference time: record timestamps are not used.</summary>
    void IEnvelopeEncoder.Encode(IReadOnlyList<AnalyticsEvent> events, ReadOnlySpan<long> recordTimestampsMs, Span<byte[]?> envelopes) =>
        Encode(events, envelopes);

    // Format 1 carries its own event time and app_id: it needs neither the record timestamp nor the key.
    void IEnvelopeDecoder.Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, IReadOnlyList<byte[]?>? recordKeys,
        Span<EnvelopeDecodeResult> results) => Decode(payloads, results);

    /// <summary>Whether the autoencoder is used (mode 1) or only the featurizer (mode 0, the ablation).</summary>
    public bool UsesNetwork => _network is not null;

    /// <summary>The artifact's model, or its featurizer alone with <paramref name="featurizerOnly"/>.</summary>
    public static EventCodec Load(string directory, bool featurizerOnly = false, Device? device = null) =>
        CodecArtifact.Load(directory, featurizerOnly, device ?? TorchRuntime.Device);

    public void Encode(IReadOnlyList<AnalyticsEvent> events, Span<byte[]?> envelopes)
    {
        var count = events.Count;
        Grow(count);
        _side.Reset();
        CorrectionsInLastEncode = 0;
        var coded = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var start = _side.Length;
            coded[i] = _featurizer.TryFeaturize(events[i], _indices.AsSpan(i * FieldCount, FieldCount), _side);
            if (!coded[i])
            {
                _side.Truncate(start);
                _indices.AsSpan(i * FieldCount, FieldCount).Clear();
            }
            _sideEnds[i] = _side.Length;
        }

        if (_network is not null && count > 0)
            RunEncoder(count);

        for (var i = 0; i < count; i++)
        {
            if (!coded[i])
            {
                envelopes[i] = null;
                continue;
            }
            var indices = _indices.AsSpan(i * FieldCount, FieldCount);
            var side = _side.Written[(i == 0 ? 0 : _sideEnds[i - 1]).._sideEnds[i]];
            _envelope.Reset();
            _envelope.Byte(CodecEnvelope.Magic);
            _envelope.Byte((byte)((CodecEnvelope.FormatVersion << 4) | (_network is null ? 0 : 1)));
            _envelope.VarUInt((ulong)ModelId);
            BinaryPrimitives.WriteUInt16LittleEndian(_envelope.Reserve(2), Check(indices, side));
            if (_network is null)
            {
                foreach (var index in indices)
                    _envelope.VarUInt((ulong)index);
            }
            else
            {
                PackLatent(_codes.AsSpan(i * Metadata.Network.LatentDims, Metadata.Network.LatentDims), _envelope.Reserve(Metadata.Network.LatentBytes));
                uint mask = 0;
                for (var f = 0; f < FieldCount; f++)
                {
                    if (_predicted[i * FieldCount + f] != indices[f] || !(_margins[i * FieldCount + f] >= DecisionMargin)) // NaN too
                        mask |= 1u << f;
                }
                _envelope.VarUInt(mask);
                CorrectionsInLastEncode += System.Numerics.BitOperations.PopCount(mask);
                for (var f = 0; f < FieldCount; f++)
                {
                    if ((mask & (1u << f)) != 0)
                        _envelope.VarUInt((ulong)indices[f]);
                }
            }
            _envelope.Bytes(side);
            envelopes[i] = _envelope.Written.ToArray();
        }
    }

    /// <summary>Decodes envelopes of this model (the caller routed them here by model id).</summary>
    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, Span<EnvelopeDecodeResult> results)
    {
        var count = payloads.Count;
        Grow(count);
        var sideStarts = new int[count];
        var masks = new uint[count];
        var checks = new ushort[count];
        var valid = new bool[count];
        var latentDims = Metadata.Network.LatentDims;
        for (var i = 0; i < count; i++)
        {
            try
            {
                var reader = new WireReader(payloads[i].Span);
                var mode = ReadHeader(ref reader, out checks[i]);
                var indices = _indices.AsSpan(i * FieldCount, FieldCount);
                if (mode == 0)
                {
                    masks[i] = FullMask;
                    for (var f = 0; f < FieldCount; f++)
                        indices[f] = reader.VarIndex(int.MaxValue, "field index");
                }
                else
                {
                    UnpackLatent(reader.Bytes(Metadata.Network.LatentBytes), _codes.AsSpan(i * latentDims, latentDims));
                    masks[i] = (uint)reader.VarIndex(1 << FieldCount, "correction mask");
                    for (var f = 0; f < FieldCount; f++)
                    {
                        if ((masks[i] & (1u << f)) != 0)
                            indices[f] = reader.VarIndex(int.MaxValue, "corrected index");
                    }
                }
                sideStarts[i] = reader.Position;
                valid[i] = true;
            }
            catch (CodecFormatException ex)
            {
                results[i] = EnvelopeDecodeResult.Failure("codec_corrupt", $"corrupt codec envelope: {ex.Message}");
            }
        }

        if (_network is not null && Enumerable.Range(0, count).Any(i => valid[i] && masks[i] != FullMask))
        {
            RunDecoder(count);
            for (var i = 0; i < count; i++)
            {
                for (var f = 0; f < FieldCount; f++)
                {
                    if ((masks[i] & (1u << f)) == 0)
                        _indices[i * FieldCount + f] = _predicted[i * FieldCount + f];
                }
            }
        }

        for (var i = 0; i < count; i++)
        {
            if (!valid[i])
                continue;
            try
            {
                var payload = payloads[i].Span;
                var reader = new WireReader(payload[sideStarts[i]..]);
                var indices = _indices.AsSpan(i * FieldCount, FieldCount);
                var e = _featurizer.Rebuild(indices, ref reader);
                if (reader.Remaining != 0)
                    throw new CodecFormatException($"{reader.Remaining} bytes after the event");
                if (Check(indices, payload[sideStarts[i]..]) != checks[i])
                    throw new CodecFormatException("check mismatch (the payload is damaged, or this consumer's model decodes differently from the producer's)");
                results[i] = new EnvelopeDecodeResult(e, null, null);
            }
            catch (CodecFormatException ex)
            {
                results[i] = EnvelopeDecodeResult.Failure("codec_corrupt", $"corrupt codec envelope (model {ModelId}): {ex.Message}");
            }
        }
    }

    /// <summary>Reads magic, version, mode and model id: what every model's envelope starts with.</summary>
    public static (int Version, int Mode, int ModelId) ReadPrefix(ReadOnlySpan<byte> payload)
    {
        var reader = new WireReader(payload);
        if (reader.Byte() != CodecEnvelope.Magic)
            throw new CodecFormatException("not a codec envelope");
        var versionAndMode = reader.Byte();
        var modelId = reader.VarIndex(ushort.MaxValue + 1, "model id");
        return (versionAndMode >> 4, versionAndMode & 0xF, modelId);
    }

    /// <summary>Reads the header and returns the mode: 0 (featurizer only) any artifact decodes, 1 needs the network.</summary>
    private int ReadHeader(ref WireReader reader, out ushort check)
    {
        reader.Byte();
        var versionAndMode = reader.Byte();
        if (versionAndMode >> 4 != CodecEnvelope.FormatVersion)
            throw new CodecFormatException($"envelope format {versionAndMode >> 4}, this build reads {CodecEnvelope.FormatVersion}");
        var mode = versionAndMode & 0xF;
        if (mode > 1 || (mode == 1 && _network is null))
            throw new CodecFormatException($"envelope mode {mode} cannot be decoded by this model ({(_network is null ? "featurizer only" : "autoencoder")})");
        reader.VarUInt();
        check = BinaryPrimitives.ReadUInt16LittleEndian(reader.Bytes(2));
        return mode;
    }

    private ushort Check(ReadOnlySpan<int> indices, ReadOnlySpan<byte> side)
    {
        _crc.Reset();
        _crc.Append(MemoryMarshal.AsBytes(indices));
        _crc.Append(side);
        return (ushort)_crc.GetCurrentHashAsUInt32();
    }

    /// <summary>
    /// Runs encoder and decoder over the batch's indices: the latent codes into <see cref="_codes"/>, each field's
    /// predicted index and the margin between its top two logits into <see cref="_predicted"/> and <see cref="_margins"/>.
    /// </summary>
    private void RunEncoder(int count)
    {
        var values = count * FieldCount;
        for (var i = 0; i < values; i++)
            _input[i] = _indices[i];
        float[] logits;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var codeTensor = _network!.EncodeCodes(ToTensor(_input.AsSpan(0, values), count, FieldCount).to(_device));
            CopyFromTensor(codeTensor, _codes.AsSpan(0, count * Metadata.Network.LatentDims));
            logits = CopyLogits(_network.DecodeCodes(codeTensor), count);
        }
        // Top two per field on the CPU copy (SIMD): a dozen small torch ops per batch on narrowed views cost more.
        var classes = _network.TotalClasses;
        for (var i = 0; i < count; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            for (var f = 0; f < FieldCount; f++)
            {
                var head = row.Slice(_network.HeadOffsets[f], _featurizer.FieldSizes[f]);
                var best = TensorPrimitives.IndexOfMax(head);
                var second = float.NegativeInfinity;
                if (best > 0)
                    second = TensorPrimitives.Max(head[..best]);
                if (best < head.Length - 1)
                    second = Math.Max(second, TensorPrimitives.Max(head[(best + 1)..]));
                _predicted[i * FieldCount + f] = best;
                _margins[i * FieldCount + f] = head[best] - second;
            }
        }
    }

    /// <summary>Runs the decoder over the batch's latent codes (<see cref="_codes"/>): each field's argmax into <see cref="_predicted"/>.</summary>
    private void RunDecoder(int count)
    {
        float[] logits;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var codes = ToTensor(_codes.AsSpan(0, count * Metadata.Network.LatentDims), count, Metadata.Network.LatentDims);
            logits = CopyLogits(_network!.DecodeCodes(codes.to(_device)), count);
        }
        var classes = _network.TotalClasses;
        for (var i = 0; i < count; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            for (var f = 0; f < FieldCount; f++)
                _predicted[i * FieldCount + f] = TensorPrimitives.IndexOfMax(row.Slice(_network.HeadOffsets[f], _featurizer.FieldSizes[f]));
        }
    }

    /// <summary>A CPU int64 tensor (rows x columns) holding <paramref name="values"/>, filled by one copy.</summary>
    private static Tensor ToTensor(ReadOnlySpan<long> values, int rows, int columns)
    {
        var result = empty([rows, columns], ScalarType.Int64);
        MemoryMarshal.AsBytes(values).CopyTo(result.bytes);
        return result;
    }

    /// <summary>
    /// Copies a tensor's values through its raw CPU bytes: TensorAccessor.CopyTo goes element by element and costs
    /// more than the network.
    /// </summary>
    private static void CopyFromTensor<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        using var host = source.cpu().contiguous();
        MemoryMarshal.Cast<byte, T>(host.bytes).CopyTo(destination);
    }

    /// <summary>The logits on the CPU in a buffer reused across batches (B x all classes, row-major).</summary>
    private float[] CopyLogits(Tensor logits, int count)
    {
        var size = count * _network!.TotalClasses;
        if (_logits.Length < size)
            _logits = new float[size];
        CopyFromTensor(logits, _logits.AsSpan(0, size));
        return _logits;
    }

    private void PackLatent(ReadOnlySpan<long> codes, Span<byte> packed)
    {
        packed.Clear();
        var bits = Metadata.Network.LatentBits;
        for (var d = 0; d < codes.Length; d++)
        {
            for (var b = 0; b < bits; b++)
            {
                if (((codes[d] >> b) & 1) != 0)
                    packed[(d * bits + b) >> 3] |= (byte)(1 << ((d * bits + b) & 7));
            }
        }
    }

    private void UnpackLatent(ReadOnlySpan<byte> packed, Span<long> codes)
    {
        var bits = Metadata.Network.LatentBits;
        for (var d = 0; d < codes.Length; d++)
        {
            long code = 0;
            for (var b = 0; b < bits; b++)
            {
                if ((packed[(d * bits + b) >> 3] & (1 << ((d * bits + b) & 7))) != 0)
                    code |= 1L << b;
            }
            codes[d] = code;
        }
    }

    private void Grow(int count)
    {
        if (_indices.Length < count * FieldCount)
            _indices = new int[count * FieldCount * 2];
        if (_sideEnds.Length < count)
            _sideEnds = new int[count * 2];
        if (_network is null || _input.Length >= count * FieldCount)
            return;
        _input = new long[count * FieldCount];
        _predicted = new int[count * FieldCount];
        _margins = new float[count * FieldCount];
        _codes = new long[count * Metadata.Network.LatentDims];
    }

    public void Dispose() => _network?.Dispose();
}

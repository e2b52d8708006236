using EventPipeline.Stages.Codec;

namespace EventPipeline.Models.Codec;

/// <summary>
/// The models a consumer can decode, by id: producers and consumers roll out a new model one pod at a time, so a
/// consumer keeps the old and the new one while both are on the topic. An envelope from a model it does not hold is
/// a dead letter that names the id, never a crash.
/// </summary>
public sealed class CodecRegistry : IEnvelopeDecoder, IDisposable
{
    private readonly Dictionary<int, ICodecModel> _codecs;

    public CodecRegistry(IEnumerable<ICodecModel> codecs)
    {
        _codecs = [];
        foreach (var codec in codecs)
        {
            if (_codecs.TryGetValue(codec.ModelId, out var other))
            {
                throw new CodecModelException(other.ContentHash == codec.ContentHash
                    ? $"two codec models share id {codec.ModelId}: the same model is listed twice"
                    : $"two codec models share id {codec.ModelId} with different contents ({other.ContentHash[..Math.Min(12, other.ContentHash.Length)]} and " +
                      $"{codec.ContentHash[..Math.Min(12, codec.ContentHash.Length)]}): envelopes of one would be decoded by the other; give the retrained model a new id");
            }
            _codecs.Add(codec.ModelId, codec);
        }
    }

    public IReadOnlyCollection<int> ModelIds => _codecs.Keys;

    /// <summary>Loads every artifact directory; fails naming the directory that cannot be used.</summary>
    public static CodecRegistry Load(IEnumerable<string> directories)
    {
        var loaded = new List<ICodecModel>();
        try
        {
            foreach (var directory in directories)
                loaded.Add(CodecArtifact.LoadModel(directory));
            return new CodecRegistry(loaded);
        }
        catch
        {
            foreach (var codec in loaded)
                codec.Dispose();
            throw;
        }
    }

    /// <summary>Decodes envelopes of format 1 only (they carry no record timestamp), as the tools that read files do.</summary>
    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, Span<EnvelopeDecodeResult> results) =>
        Decode(payloads, new long[payloads.Count], results);

    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, Span<EnvelopeDecodeResult> results) =>
        Decode(payloads, recordTimestampsMs, null, results);

    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, IReadOnlyList<byte[]?>? recordKeys,
        Span<EnvelopeDecodeResult> results)
    {
        // Usually every envelope comes from one model: then the batch goes through as it is.
        var groups = new Dictionary<int, List<int>>();
        for (var i = 0; i < payloads.Count; i++)
        {
            int modelId;
            int version;
            try
            {
                (version, _, modelId) = EventCodec.ReadPrefix(payloads[i].Span);
            }
            catch (CodecFormatException ex)
            {
                results[i] = EnvelopeDecodeResult.Failure("codec_corrupt", $"corrupt codec envelope: {ex.Message}");
                continue;
            }
            if (!CodecEnvelope.IsKnownVersion(version))
                results[i] = EnvelopeDecodeResult.Failure("codec_version", $"codec envelope format {version}; this consumer reads {CodecEnvelope.FormatVersion} and {CodecEnvelope.EntropyFormatVersion}");
            else if (!_codecs.TryGetValue(modelId, out var codec))
                results[i] = EnvelopeDecodeResult.Failure("codec_unknown_model",
                    $"codec model {modelId} is not loaded here (loaded: {string.Join(", ", _codecs.Keys.Order())}); add its artifact to Codec:Models");
            else if (codec.FormatVersion != version)
                results[i] = EnvelopeDecodeResult.Failure("codec_version", $"codec envelope format {version} for model {modelId}, which writes format {codec.FormatVersion}");
            else
            {
                if (!groups.TryGetValue(modelId, out var members))
                    groups[modelId] = members = [];
                members.Add(i);
            }
        }
        foreach (var (modelId, members) in groups)
        {
            if (members.Count == payloads.Count)
            {
                _codecs[modelId].Decode(payloads, recordTimestampsMs, recordKeys, results);
                return;
            }
            var groupResults = new EnvelopeDecodeResult[members.Count];
            var groupTimestamps = new long[members.Count];
            for (var j = 0; j < members.Count; j++)
                groupTimestamps[j] = recordTimestampsMs[members[j]];
            _codecs[modelId].Decode([.. members.Select(i => payloads[i])], groupTimestamps, recordKeys is null ? null : [.. members.Select(i => recordKeys[i])], groupResults);
            for (var j = 0; j < members.Count; j++)
                results[members[j]] = groupResults[j];
        }
    }

    public void Dispose()
    {
        foreach (var codec in _codecs.Values)
            codec.Dispose();
    }
}

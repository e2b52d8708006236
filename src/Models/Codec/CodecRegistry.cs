using EventPipeline.Stages.Codec;

namespace EventPipeline.Models.Codec;

/// <summary>
/// The models a consumer can decode, by id: producers and consumers roll out a new model one pod at a time, so a
/// consumer keeps the old and the new one while both are on the topic. An envelope from a model it does not hold is
/// a dead letter that names the id, never a crash.
/// </summary>
public sealed class CodecRegistry : IEnvelopeDecoder, IDisposable
{
    private readonly Dictionary<int, EventCodec> _codecs;

    public CodecRegistry(IEnumerable<EventCodec> codecs)
    {
        _codecs = [];
        foreach (var codec in codecs)
        {
            if (!_codecs.TryAdd(codec.ModelId, codec))
                throw new CodecModelException($"two codec models share id {codec.ModelId}");
        }
    }

    public IReadOnlyCollection<int> ModelIds => _codecs.Keys;

    /// <summary>Loads every artifact directory; fails naming the directory that cannot be used.</summary>
    public static CodecRegistry Load(IEnumerable<string> directories) => new([.. directories.Select(d => EventCodec.Load(d))]);

    public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, Span<EnvelopeDecodeResult> results)
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
            if (version != CodecEnvelope.FormatVersion)
                results[i] = EnvelopeDecodeResult.Failure("codec_version", $"codec envelope format {version}; this consumer reads {CodecEnvelope.FormatVersion}");
            else if (!_codecs.ContainsKey(modelId))
                results[i] = EnvelopeDecodeResult.Failure("codec_unknown_model",
                    $"codec model {modelId} is not loaded here (loaded: {string.Join(", ", _codecs.Keys.Order())}); add its artifact to Codec:Models");
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
                _codecs[modelId].Decode(payloads, results);
                return;
            }
            var groupResults = new EnvelopeDecodeResult[members.Count];
            _codecs[modelId].Decode([.. members.Select(i => payloads[i])], groupResults);
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

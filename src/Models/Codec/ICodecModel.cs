using EventPipeline.Stages.Codec;

namespace EventPipeline.Models.Codec;

/// <summary>A loaded codec model of either envelope format: the autoencoder format 1 or the entropy-coded format 2.</summary>
public interface ICodecModel : IEnvelopeEncoder, IEnvelopeDecoder, IDisposable
{
    /// <summary>The envelope format this model writes and reads.</summary>
    int FormatVersion { get; }

    /// <summary>Digest of what decides how its envelopes decode (weights or tables, vocabularies, schema).</summary>
    string ContentHash { get; }

    CodecMetadata Metadata { get; }
}

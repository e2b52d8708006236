using EventPipeline.Models.Codec;

namespace EventPipeline.Models.Tracking;

/// <summary>A trained codec measured on one set of events, for its ml_model_performance rows.</summary>
/// <param name="Dataset">held-out (the training events it kept back) or shifted (events of a world it has not seen).</param>
/// <param name="BitsPerEvent">
/// Where the bits of an event go, by coded quantity (<see cref="EntropyCodec.BitsPerEvent"/>); empty for a model that
/// cannot attribute its bits (the autoencoder).
/// </param>
public sealed record CodecDatasetEvaluation(string Dataset, CodecRoundTripResult RoundTrip, IReadOnlyDictionary<string, double> BitsPerEvent);

using System.Diagnostics;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>What one encode/decode round trip of a set of events measured.</summary>
/// <param name="BytesPerEvent">Mean bytes on the wire: the envelope, or the event's JSON where the model could not code it.</param>
/// <param name="Mismatches">Coded events whose decode is not the same event (<see cref="EventEquality"/>).</param>
/// <param name="CorrectionsPerEvent">Fields the autoencoder's latent got wrong and the envelope corrects; null for other models.</param>
/// <param name="EventsPerSecond">Events encoded and decoded per second of the encode and decode calls alone.</param>
public sealed record CodecRoundTripResult(int Events, double BytesPerEvent, int Mismatches, double? CorrectionsPerEvent, double EventsPerSecond);

/// <summary>Encodes and decodes events in batches, as a producer and a consumer would, and compares every event with its decode.</summary>
public static class CodecRoundTrip
{
    private const int Batch = 4096;

    /// <param name="recordTimestampsMs">The Kafka record timestamp each envelope travels with (format 2 codes the event time against it).</param>
    public static CodecRoundTripResult Measure(ICodecModel codec, IReadOnlyList<AnalyticsEvent> events, long[] recordTimestampsMs)
    {
        long bytes = 0;
        long corrections = 0;
        var mismatches = 0;
        var elapsed = TimeSpan.Zero;
        for (var start = 0; start < events.Count; start += Batch)
        {
            var batch = events.Skip(start).Take(Batch).ToList();
            var timestamps = recordTimestampsMs.AsSpan(start, batch.Count);
            var envelopes = new byte[]?[batch.Count];
            var payloads = new ReadOnlyMemory<byte>[batch.Count];
            var results = new EnvelopeDecodeResult[batch.Count];
            var started = Stopwatch.GetTimestamp();
            codec.Encode(batch, timestamps, envelopes);
            for (var i = 0; i < batch.Count; i++)
                payloads[i] = envelopes[i] ?? [];
            codec.Decode(payloads, timestamps, results);
            elapsed += Stopwatch.GetElapsedTime(started);
            corrections += (codec as EventCodec)?.CorrectionsInLastEncode ?? 0;
            for (var i = 0; i < batch.Count; i++)
            {
                // An event the model cannot code travels as its JSON: those are its bytes on the wire.
                bytes += envelopes[i]?.Length ?? EventJsonWriter.Write(batch[i]).Length;
                if (envelopes[i] is not null && (results[i].Event is not { } decoded || !EventEquality.Same(batch[i], decoded)))
                    mismatches++;
            }
        }
        return new CodecRoundTripResult(events.Count, (double)bytes / events.Count, mismatches,
            codec is EventCodec ? (double)corrections / events.Count : null, events.Count / Math.Max(elapsed.TotalSeconds, 1e-9));
    }
}

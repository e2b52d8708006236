using System.Diagnostics.CodeAnalysis;

namespace EventPipeline.Stages.Events;

/// <summary>The outcome of <see cref="EventDecoder.Decode"/>: either an event or an error, never both.</summary>
public readonly struct DecodeResult
{
    private DecodeResult(AnalyticsEvent? evt, DecodeError? error)
    {
        Event = evt;
        Error = error;
    }

    public AnalyticsEvent? Event { get; }

    public DecodeError? Error { get; }

    [MemberNotNullWhen(true, nameof(Event))]
    public bool IsSuccess => Event is not null;

    public static DecodeResult Success(AnalyticsEvent evt) => new(evt ?? throw new ArgumentNullException(nameof(evt)), null);

    public static DecodeResult Failure(DecodeErrorKind kind, string reason) => new(null, new DecodeError(kind, reason));

    public static implicit operator DecodeResult(DecodeError error) => new(null, error);

    public override string ToString() => IsSuccess ? $"ok {Event.EventId}" : Error.ToString()!;
}

using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>Which population of apps, users and months <see cref="EventGenerator"/> draws events from.</summary>
public enum EventDistribution
{
    /// <summary>The stream models are trained on.</summary>
    Training,

    /// <summary>
    /// For evaluation only: what a model trained on <see cref="Training"/> has not seen. Other studios and genres
    /// (app ids disjoint from Training's), event times ~5 months later, another country mix, newer OS versions
    /// (iOS 19, Android 16), shorter sessions with more ads and fewer levels.
    /// </summary>
    Shifted,
}

/// <summary>Settings of <see cref="EventGenerator"/>; each is checked when set.</summary>
public sealed record EventGeneratorOptions
{
    /// <summary>2025-06-15T00:00:00Z: a fixed default keeps generated streams identical from run to run.</summary>
    public const long DefaultStartTimestampMs = 1_749_945_600_000;

    private static readonly long MinStartMs = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long MaxStartMs = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    public int Seed { get; init; } = 42;

    public int AppCount
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(AppCount));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000, nameof(AppCount));
            field = value;
        }
    } = 50;

    /// <summary>
    /// The Zipf exponent of how users (and so events) spread over apps: app i gets weight 1 / (i + 1)^AppSkew. 1.2 (the
    /// default) gives the top app of 50 about a fifth of all events; 0 spreads users evenly (to shape traffic with
    /// <see cref="EventGenerator.SetAppWeights"/> instead).
    /// </summary>
    public double AppSkew
    {
        get;
        init => field = value is >= 0 and <= 4 ? value : throw new ArgumentOutOfRangeException(nameof(AppSkew), value, "Must be between 0 and 4.");
    } = 1.2;

    /// <summary>Distinct users (each with one device, platform, OS and app version), built up front.</summary>
    public int UserCount
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(UserCount));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000_000, nameof(UserCount));
            field = value;
        }
    } = 10_000;

    /// <summary>Share of <see cref="EventGenerator.Next"/> messages that are deliberately undecodable.</summary>
    public double MalformedFraction
    {
        get;
        init => field = Fraction(value, nameof(MalformedFraction));
    }

    /// <summary>Share of good messages written as Confluent-framed Protobuf instead of JSON.</summary>
    public double ProtobufFraction
    {
        get;
        init => field = Fraction(value, nameof(ProtobufFraction));
    }

    /// <summary>The generator's "now": event times start here and move forward a few milliseconds per event.</summary>
    public long StartTimestampMs
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, MinStartMs, nameof(StartTimestampMs));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxStartMs, nameof(StartTimestampMs));
            field = value;
        }
    } = DefaultStartTimestampMs;

    /// <summary>
    /// Size of <see cref="MalformedKind.Oversize"/> messages; 0 (the default) generates none. Set it above the
    /// decoder's <see cref="EventDecoderOptions.MaxMessageBytes"/>.
    /// </summary>
    public int OversizePayloadBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(OversizePayloadBytes));
            field = value;
        }
    }

    /// <summary>Schema id written into Confluent Protobuf headers.</summary>
    public int SchemaId { get; init; } = 1;

    /// <summary>Training (the default) or the Shifted population held back for evaluating what was trained.</summary>
    public EventDistribution Distribution
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(Distribution), value, "Unknown distribution.");
            }

            field = value;
        }
    }

    private static double Fraction(double value, string name)
    {
        if (!(value is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be between 0 and 1.");
        }

        return value;
    }
}

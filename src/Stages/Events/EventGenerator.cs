using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EventPipeline.Stages.Events;

/// <summary>
/// Produces realistic mobile analytics events and their Kafka payloads, the same sequence for the same
/// options. Apps follow a Zipf-like skew, users keep their device, platform and versions, revenue comes only
/// with purchases, and a configurable share of messages is broken in known ways. Not thread-safe.
/// </summary>
public sealed partial class EventGenerator
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly WeightedChoice<string> EventNames = new(
        ("screen_view", 30), ("button_click", 14), ("session_start", 12), ("ad_impression", 12), ("session_end", 10),
        ("level_start", 7), ("level_complete", 5), ("notification_open", 3), ("ad_click", 2), ("purchase", 2),
        ("tutorial_complete", 2), ("install", 1));

    private static readonly string[] Screens = ["home", "shop", "settings", "level_select", "profile", "leaderboard", "store_offer", "inventory"];
    private static readonly string[] Buttons = ["play", "buy", "share", "close", "settings", "claim_reward"];
    private static readonly string[] AdNetworks = ["admob", "applovin", "unity_ads", "ironsource", "meta_audience"];
    private static readonly string[] Placements = ["interstitial", "rewarded", "banner"];
    private static readonly string[] MediaSources = ["organic", "facebook_ads", "google_ads", "tiktok_ads", "apple_search_ads"];
    private static readonly string[] Skus = ["coins_small", "coins_large", "gems_pack", "remove_ads", "vip_month", "starter_bundle"];
    private static readonly string[] Tags = ["new_user", "returning", "sale", "holiday", "ab_test_b", "café", "東京", "Zürich", "🎮"];
    private static readonly double[] Prices = [0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99];

    private readonly Random _random;
    private readonly GeneratorCatalog _catalog;
    private readonly MalformedKind[] _malformations;
    private readonly ArrayBufferWriter<byte> _propertiesBuffer = new(512);
    private readonly Utf8JsonWriter _propertiesWriter;
    private long _elapsedMs;

    public EventGenerator(EventGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _random = new Random(options.Seed);
        _catalog = new GeneratorCatalog(_random, options.AppCount, options.UserCount);
        _propertiesWriter = new Utf8JsonWriter(_propertiesBuffer, WriterOptions);

        var kinds = new List<MalformedKind>(Enum.GetValues<MalformedKind>());
        if (options.ProtobufFraction == 0)
        {
            kinds.Remove(MalformedKind.BadProtobuf);
            kinds.Remove(MalformedKind.UnknownMessageIndex);
        }

        if (options.OversizePayloadBytes == 0)
        {
            kinds.Remove(MalformedKind.Oversize);
        }

        _malformations = [.. kinds];
    }

    /// <summary>The options, immutable once set (a record with init-only members).</summary>
    public EventGeneratorOptions Options { get; }

    /// <summary>The kinds of malformed message this generator produces, in the order it picks from.</summary>
    public IReadOnlyList<MalformedKind> Malformations => _malformations.AsReadOnly();

    public GeneratedMessage Next()
    {
        if (_random.NextDouble() < Options.MalformedFraction)
        {
            return NextMalformed(_malformations[_random.Next(_malformations.Length)]);
        }

        AnalyticsEvent evt = NextEvent();
        byte[] payload = _random.NextDouble() < Options.ProtobufFraction
            ? ToProtobufFramed(evt, Options.SchemaId)
            : WriteJson(evt, malformation: null);
        return new GeneratedMessage(payload, IsMalformed: false, evt.EventId, evt.AppId);
    }

    public AnalyticsEvent NextEvent()
    {
        // Busy users produce most events: squaring the draw favours the low indexes.
        double draw = _random.NextDouble();
        GeneratorCatalog.User user = _catalog.Users[(int)(draw * draw * _catalog.Users.Length)];
        string eventName = EventNames.Pick(_random);

        // Time moves ~1 ms per event; most events arrive within seconds, 1% from devices that were offline.
        _elapsedMs += _random.Next(0, 3);
        long lateness = _random.NextDouble() < 0.01 ? _random.NextInt64(0, 3_600_000) : _random.Next(0, 2_000);
        return new AnalyticsEvent
        {
            EventId = GeneratorCatalog.NewUuid(_random),
            AppId = user.AppId,
            UserId = user.UserId,
            EventName = eventName,
            EventTimestampMs = Options.StartTimestampMs + _elapsedMs - lateness,
            DeviceId = user.DeviceId,
            Platform = user.Platform,
            OsVersion = user.OsVersion,
            AppVersion = user.AppVersion,
            Country = user.Country,
            Revenue = eventName == "purchase" ? Prices[_random.Next(Prices.Length)] : null,
            PropertiesJson = NextProperties(eventName),
        };
    }

    private string? NextProperties(string eventName)
    {
        if (eventName == "session_end" && _random.Next(2) == 0)
        {
            return null;
        }

        _propertiesBuffer.ResetWrittenCount();
        _propertiesWriter.Reset(_propertiesBuffer);
        Utf8JsonWriter w = _propertiesWriter;
        w.WriteStartObject();
        switch (eventName)
        {
            case "screen_view":
                w.WriteString("screen", Pick(Screens));
                w.WriteString("previous_screen", Pick(Screens));
                w.WriteNumber("session_depth", _random.Next(1, 60));
                break;
            case "button_click":
                w.WriteString("screen", Pick(Screens));
                w.WriteString("button", Pick(Buttons));
                break;
            case "session_start":
                w.WriteString("session_id", _random.NextInt64().ToString("x16", CultureInfo.InvariantCulture));
                w.WriteBoolean("first_session", _random.Next(10) == 0);
                break;
            case "ad_impression" or "ad_click":
                w.WriteString("ad_network", Pick(AdNetworks));
                w.WriteString("placement", Pick(Placements));
                if (eventName == "ad_click")
                {
                    w.WriteString("campaign_id", NextCampaignId());
                }
                else
                {
                    w.WriteNumber("ecpm_usd", Math.Round(_random.NextDouble() * 20, 3));
                }

                break;
            case "level_start" or "level_complete":
                w.WriteNumber("level", _random.Next(1, 300));
                if (eventName == "level_complete")
                {
                    w.WriteNumber("score", _random.Next(0, 100_000));
                    w.WriteNumber("duration_s", Math.Round(_random.NextDouble() * 300, 2));
                    WriteTags(w);
                }

                break;
            case "purchase":
                w.WriteString("sku", Pick(Skus));
                w.WriteString("currency", "USD");
                w.WriteString("screen", "shop");
                w.WriteBoolean("first_purchase", _random.Next(4) == 0);
                break;
            case "install" or "notification_open":
                w.WriteString("campaign_id", NextCampaignId());
                w.WriteString("media_source", Pick(MediaSources));
                WriteTags(w);
                break;
            case "tutorial_complete":
                w.WriteNumber("step", _random.Next(1, 8));
                w.WriteBoolean("skipped", _random.Next(5) == 0);
                break;
            default:
                w.WriteNumber("duration_s", _random.Next(1, 3_600));
                break;
        }

        w.WriteEndObject();
        w.Flush();
        return Encoding.UTF8.GetString(_propertiesBuffer.WrittenSpan);
    }

    private void WriteTags(Utf8JsonWriter w)
    {
        w.WriteStartArray("tags");
        for (int i = _random.Next(0, 4); i > 0; i--)
        {
            w.WriteStringValue(Pick(Tags));
        }

        w.WriteEndArray();
    }

    private string NextCampaignId() => "cmp_" + _random.Next(1000, 10_000).ToString(CultureInfo.InvariantCulture);

    private string Pick(string[] items) => items[_random.Next(items.Length)];
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>
/// Produces realistic mobile analytics events and their Kafka payloads, the same sequence for the same
/// options. Apps follow a Zipf-like skew and have home markets, users keep their device, platform and versions,
/// revenue comes only with purchases, and a configurable share of messages is broken in known ways. Not thread-safe.
/// </summary>
/// <remarks>
/// Events come in sessions: session_start, a run of in-session events, then usually session_end. A few sessions
/// of different users are open at once and take turns, as they would on a shared topic. A user has at most one
/// open session, so user_id and order identify a session's events; only session_start and session_end carry its
/// session_id, as repeating those ~30 bytes in every event would grow the average payload by almost a tenth.
/// </remarks>
public sealed partial class EventGenerator
{
    /// <summary>Sessions open at once: enough to interleave users, few enough that sessions stay short in time.</summary>
    private const int OpenSessions = 8;

    /// <summary>Chance that a session's turn, while a level is being played, completes the level.</summary>
    private const double LevelCompleteChance = 0.5;

    private static readonly string[] Screens = ["home", "shop", "settings", "level_select", "profile", "leaderboard", "store_offer", "inventory"];
    private static readonly string[] Buttons = ["play", "buy", "share", "close", "settings", "claim_reward"];
    private static readonly string[] AdNetworks = ["admob", "applovin", "unity_ads", "ironsource", "meta_audience"];
    private static readonly string[] Placements = ["interstitial", "rewarded", "banner"];
    private static readonly string[] MediaSources = ["organic", "facebook_ads", "google_ads", "tiktok_ads", "apple_search_ads"];
    private static readonly string[] Skus = ["coins_small", "coins_large", "gems_pack", "remove_ads", "vip_month", "starter_bundle"];
    private static readonly string[] Tags = ["new_user", "returning", "sale", "holiday", "ab_test_b", "café", "東京", "Zürich", "🎮"];
    private static readonly double[] Prices = [0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99];

    private readonly Random _random;
    private readonly GeneratorProfile _profile;
    private readonly GeneratorCatalog _catalog;
    private readonly Session[] _sessions;
    private readonly MalformedKind[] _malformations;
    private readonly ArrayBufferWriter<byte> _propertiesBuffer = new(512);
    private readonly Utf8JsonWriter _propertiesWriter;
    private long _elapsedMs;
    private WeightedChoice<int>? _appTraffic;

    public EventGenerator(EventGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _profile = GeneratorProfile.For(options.Distribution);
        _random = new Random(options.Seed ^ _profile.SeedSalt);
        _catalog = new GeneratorCatalog(_random, _profile, options.AppCount, options.UserCount, options.AppSkew);
        _propertiesWriter = new Utf8JsonWriter(_propertiesBuffer, EventJsonWriter.Options);

        // Fewer sessions than users, so that a session's user can always be replaced by another one.
        _sessions = new Session[Math.Clamp(options.UserCount / 2, 1, OpenSessions)];
        for (int i = 0; i < _sessions.Length; i++)
        {
            _sessions[i] = OpenSession(i);
        }

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

    /// <summary>The app ids, by app index (the index <see cref="SetAppWeights"/> weighs).</summary>
    public IReadOnlyList<string> AppIds => Array.ConvertAll(_catalog.Apps, app => app.Id);

    /// <summary>
    /// From now on, new sessions belong to app i in proportion to <paramref name="weights"/>[i] (index = app index; apps
    /// without users get none) instead of following the users' own spread: how a bench makes an app go viral or moves
    /// the hot apps during a run. Sessions already open finish as they are.
    /// </summary>
    public void SetAppWeights(ReadOnlySpan<double> weights)
    {
        if (weights.Length != _catalog.Apps.Length)
        {
            throw new ArgumentException($"{weights.Length} weights for {_catalog.Apps.Length} apps", nameof(weights));
        }

        var choices = new List<(int, double)>(weights.Length);
        for (int app = 0; app < weights.Length; app++)
        {
            if (!(weights[app] >= 0) || double.IsInfinity(weights[app]))
            {
                throw new ArgumentOutOfRangeException(nameof(weights), weights[app], $"weight of app {app} must be finite and not negative");
            }

            if (weights[app] > 0 && _catalog.UsersByApp[app].Length > 0)
            {
                choices.Add((app, weights[app]));
            }
        }

        if (choices.Count == 0)
        {
            throw new ArgumentException("no app with users has a weight above 0", nameof(weights));
        }

        _appTraffic = new WeightedChoice<int>([.. choices]);
    }

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
        (Session session, string eventName) = NextSessionEvent();
        GeneratorCatalog.User user = session.User;

        // Time moves ~1 ms per event; most events arrive within seconds, 1% from devices that were offline.
        _elapsedMs += _random.Next(0, 3);
        long lateness = _random.NextDouble() < 0.01 ? _random.NextInt64(0, 3_600_000) : _random.Next(0, 2_000);
        return new AnalyticsEvent
        {
            EventId = GeneratorCatalog.NewUuid(_random),
            AppId = user.AppId,
            UserId = user.UserId,
            EventName = eventName,
            EventTimestampMs = Options.StartTimestampMs + _profile.TimeOffsetMs + _elapsedMs - lateness,
            DeviceId = user.DeviceId,
            Platform = user.Platform,
            OsVersion = user.OsVersion,
            AppVersion = user.AppVersion,
            Country = user.Country,
            Revenue = eventName == "purchase" ? Prices[_random.Next(Prices.Length)] : null,
            PropertiesJson = NextProperties(eventName, session),
        };
    }

    /// <summary>Takes a turn of one open session: its start, its install, an in-session event or its end.</summary>
    private (Session Session, string EventName) NextSessionEvent()
    {
        int slot = _random.Next(_sessions.Length);
        Session session = _sessions[slot];
        if (!session.Started)
        {
            session.Started = true;
            return (session, "session_start");
        }

        if (session.IsFirst && !session.Installed)
        {
            session.Installed = true;
            return (session, "install");
        }

        if (_random.NextDouble() >= 1 / (_profile.MeanInSessionEvents + 1))
        {
            session.DurationS += _random.Next(2, 40);
            return (session, NextInSessionEventName(session));
        }

        Session next = OpenSession(slot);
        _sessions[slot] = next;
        if (_random.NextDouble() < _profile.CleanEndShare)
        {
            return (session, "session_end");
        }

        // Killed apps send no session_end: the turn goes to the session that takes the slot.
        next.Started = true;
        return (next, "session_start");
    }

    private string NextInSessionEventName(Session session)
    {
        // Players finish only levels they started, and soon after starting them.
        if (session.LevelStarted && _random.NextDouble() < LevelCompleteChance)
        {
            return "level_complete";
        }

        string name = _profile.InSessionEvents.Pick(_random);

        // Players click only ads they were shown.
        return name == "ad_click" && session.AdNetwork is null ? "ad_impression" : name;
    }

    /// <summary>A session for <paramref name="slot"/>, of a user who has none open in the other slots.</summary>
    private Session OpenSession(int slot)
    {
        GeneratorCatalog.User user;
        int attempts = 0;
        do
        {
            // Busy users produce most sessions: squaring the draw favours the low indexes.
            double draw = _random.NextDouble();
            if (_appTraffic is null)
            {
                user = _catalog.Users[(int)(draw * draw * _catalog.Users.Length)];
            }
            else
            {
                int[] users = _catalog.UsersByApp[_appTraffic.Pick(_random)];
                user = _catalog.Users[users[(int)(draw * draw * users.Length)]];
                if (++attempts == 64)
                {
                    break; // the weighted apps' users are all in sessions: one of them runs two at once rather than waiting forever
                }
            }
        }
        while (HasOpenSession(user, slot));

        return new Session(
            user,
            id: _random.NextInt64().ToString("x16", CultureInfo.InvariantCulture),
            isFirst: _random.NextDouble() < _profile.FirstSessionShare,
            level: _random.Next(1, 300));
    }

    private bool HasOpenSession(GeneratorCatalog.User user, int exceptSlot)
    {
        for (int i = 0; i < _sessions.Length; i++)
        {
            // Slots are filled in order at construction, so later ones may still be empty.
            if (i != exceptSlot && _sessions[i] is { } open && ReferenceEquals(open.User, user))
            {
                return true;
            }
        }

        return false;
    }

    private string? NextProperties(string eventName, Session session)
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
                string previousScreen = session.Screen;
                session.Screen = Pick(Screens);
                w.WriteString("screen", session.Screen);
                w.WriteString("previous_screen", previousScreen);
                w.WriteNumber("session_depth", ++session.ScreenViews);
                break;
            case "button_click":
                w.WriteString("screen", session.Screen);
                w.WriteString("button", Pick(Buttons));
                break;
            case "session_start":
                w.WriteString("session_id", session.Id);
                w.WriteBoolean("first_session", session.IsFirst);
                break;
            case "session_end":
                w.WriteString("session_id", session.Id);
                w.WriteNumber("duration_s", session.DurationS);
                break;
            case "ad_impression":
                w.WriteString("ad_network", session.AdNetwork = Pick(AdNetworks));
                w.WriteString("placement", session.AdPlacement = Pick(Placements));
                w.WriteNumber("ecpm_usd", Math.Round(_random.NextDouble() * 20, 3));
                break;
            case "ad_click":
                w.WriteString("ad_network", session.AdNetwork);
                w.WriteString("placement", session.AdPlacement);
                w.WriteString("campaign_id", NextCampaignId());
                break;
            case "level_start":
                // A level_start while one is in progress is a retry of it after a failure.
                w.WriteNumber("level", session.Level);
                session.LevelStarted = true;
                break;
            case "level_complete":
                w.WriteNumber("level", session.Level++);
                w.WriteNumber("score", _random.Next(0, 100_000));
                w.WriteNumber("duration_s", Math.Round(_random.NextDouble() * 300, 2));
                WriteTags(w);
                session.LevelStarted = false;
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
                throw new InvalidOperationException($"no properties for event {eventName}");
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

    /// <summary>One user's visit to an app, with the state its later events refer back to.</summary>
    private sealed class Session(GeneratorCatalog.User user, string id, bool isFirst, int level)
    {
        public GeneratorCatalog.User User { get; } = user;

        public string Id { get; } = id;

        /// <summary>The user's first session: it has first_session true and an install right after its start.</summary>
        public bool IsFirst { get; } = isFirst;

        public bool Started { get; set; }

        public bool Installed { get; set; }

        /// <summary>Apps open on their home screen.</summary>
        public string Screen { get; set; } = "home";

        public int ScreenViews { get; set; }

        /// <summary>The level being played or next to play: where the player got to before this session.</summary>
        public int Level { get; set; } = level;

        public bool LevelStarted { get; set; }

        /// <summary>The last ad shown, which an ad_click refers to; null before the first ad_impression.</summary>
        public string? AdNetwork { get; set; }

        public string? AdPlacement { get; set; }

        /// <summary>Seconds spent in the app so far, reported by session_end.</summary>
        public int DurationS { get; set; }
    }
}

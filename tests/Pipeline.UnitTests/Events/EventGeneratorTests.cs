using System.Text;
using System.Text.Json;
using EventPipeline.Stages.Events;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Events;

public sealed class EventGeneratorTests
{
    private static readonly EventGeneratorOptions Mixed = new()
    {
        Seed = 5,
        MalformedFraction = 0.2,
        ProtobufFraction = 0.3,
        OversizePayloadBytes = 4_096,
    };

    /// <summary>The event-name shares of the generator before it played out sessions, in percent.</summary>
    private static readonly (string EventName, double Percent)[] EventNameShares =
    [
        ("screen_view", 30), ("button_click", 14), ("session_start", 12), ("ad_impression", 12), ("session_end", 10),
        ("level_start", 7), ("level_complete", 5), ("notification_open", 3), ("ad_click", 2), ("purchase", 2),
        ("tutorial_complete", 2), ("install", 1),
    ];

    public static TheoryData<EventDistribution> Distributions => new() { EventDistribution.Training, EventDistribution.Shifted };

    [Theory]
    [InlineData(EventDistribution.Training, EventDistribution.Shifted)]
    [InlineData(EventDistribution.Shifted, EventDistribution.Training)]
    public void Same_seed_and_distribution_give_the_same_bytes_and_another_seed_or_distribution_does_not(
        EventDistribution distribution, EventDistribution otherDistribution)
    {
        EventGeneratorOptions options = Mixed with { Distribution = distribution };
        GeneratedMessage[] first = Take(new EventGenerator(options), 3_000);
        GeneratedMessage[] second = Take(new EventGenerator(options), 3_000);

        for (int i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i].Payload, second[i].Payload);
            Assert.Equal(first[i] with { Payload = second[i].Payload }, second[i]);
        }

        Assert.NotEqual(Hex(first), Hex(Take(new EventGenerator(options with { Seed = 6 }), 3_000)));
        Assert.NotEqual(Hex(first), Hex(Take(new EventGenerator(options with { Distribution = otherDistribution }), 3_000)));
    }

    [Fact]
    public void Malformed_and_protobuf_fractions_are_respected()
    {
        GeneratedMessage[] messages = Take(new EventGenerator(Mixed with { MalformedFraction = 0.1 }), 20_000);
        GeneratedMessage[] good = [.. messages.Where(m => !m.IsMalformed)];

        Assert.InRange(messages.Length - good.Length, 1_800, 2_200);
        Assert.InRange(good.Count(m => m.Payload[0] == 0), good.Length * 0.28, good.Length * 0.32);
        Assert.DoesNotContain(Take(new EventGenerator(new EventGeneratorOptions()), 2_000), m => m.IsMalformed || m.Payload[0] == 0);
    }

    [Fact]
    public void Every_good_message_decodes_to_its_event_id_with_the_app_as_key()
    {
        var decoder = new EventDecoder(new EventDecoderOptions { MaxMessageBytes = Mixed.OversizePayloadBytes });
        foreach (GeneratedMessage message in Take(new EventGenerator(Mixed), 10_000).Where(m => !m.IsMalformed))
        {
            AnalyticsEvent evt = AssertOk(decoder.Decode(message.Payload));
            Assert.Equal(message.EventId, evt.EventId);
            Assert.Equal(evt.AppId, message.Key);
            Assert.Null(message.Malformation);
        }
    }

    [Fact]
    public void Every_malformed_kind_appears_and_fails_with_its_reason()
    {
        var decoder = new EventDecoder(new EventDecoderOptions { MaxMessageBytes = Mixed.OversizePayloadBytes });
        var seen = new HashSet<MalformedKind>();
        foreach (GeneratedMessage message in Take(new EventGenerator(Mixed with { MalformedFraction = 1 }), 2_000))
        {
            Assert.True(message.IsMalformed);
            Assert.Equal(Guid.Empty, message.EventId);
            MalformedKind kind = message.Malformation!.Value;
            Assert.Equal(kind == MalformedKind.RandomBytes, message.Key is null);
            seen.Add(kind);

            DecodeResult result = decoder.Decode(message.Payload);
            switch (kind)
            {
                case MalformedKind.TruncatedJson:
                    AssertErrorStartsWith(result, DecodeErrorKind.Malformed, "malformed JSON at byte ");
                    break;
                case MalformedKind.WrongType:
                    AssertError(result, DecodeErrorKind.WrongType, "app_id: expected a string, got a number");
                    break;
                case MalformedKind.MissingField:
                    AssertError(result, DecodeErrorKind.MissingField, "missing required field user_id");
                    break;
                case MalformedKind.InvalidUuid:
                    AssertError(result, DecodeErrorKind.InvalidValue, "event_id: invalid UUID");
                    break;
                case MalformedKind.UnknownPlatform:
                    AssertError(result, DecodeErrorKind.InvalidValue, "platform: unknown platform, expected ios or android");
                    break;
                case MalformedKind.TimestampOutOfRange:
                    AssertError(result, DecodeErrorKind.InvalidValue, "event_timestamp: outside 1970..2105");
                    break;
                case MalformedKind.DuplicateField:
                    AssertError(result, DecodeErrorKind.Malformed, "duplicate field event_name");
                    break;
                case MalformedKind.TrailingGarbage:
                    AssertError(result, DecodeErrorKind.Malformed, $"trailing data after the JSON object at byte {message.Payload.Length - 1}");
                    break;
                case MalformedKind.RandomBytes:
                    AssertErrorStartsWith(result, DecodeErrorKind.Malformed, "malformed JSON at byte 0: ");
                    break;
                case MalformedKind.BadProtobuf:
                    AssertErrorStartsWith(result, DecodeErrorKind.Malformed, "invalid Protobuf body: ");
                    break;
                case MalformedKind.UnknownMessageIndex:
                    AssertError(result, DecodeErrorKind.UnsupportedFormat, "Protobuf message index [1] is not AnalyticsEvent (index [0])");
                    break;
                case MalformedKind.Oversize:
                    AssertErrorStartsWith(result, DecodeErrorKind.Oversize, "payload of ");
                    break;
                default:
                    Assert.Fail($"untested kind {kind}");
                    break;
            }
        }

        Assert.Equal(Enum.GetValues<MalformedKind>(), seen.Order());
    }

    [Fact]
    public void Optional_malformations_need_their_options()
    {
        var plain = new EventGenerator(new EventGeneratorOptions { MalformedFraction = 1 });

        Assert.DoesNotContain(MalformedKind.Oversize, plain.Malformations);
        Assert.DoesNotContain(MalformedKind.BadProtobuf, plain.Malformations);
        Assert.DoesNotContain(MalformedKind.UnknownMessageIndex, plain.Malformations);
        Assert.All(Take(plain, 500), m => Assert.NotEqual(0, m.Payload[0]));
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Events_look_like_a_real_app_portfolio(EventDistribution distribution)
    {
        AnalyticsEvent[] events = Events(distribution, 20_000);

        int[] perApp = [.. events.GroupBy(e => e.AppId).Select(g => g.Count()).OrderDescending()];
        Assert.InRange(perApp.Length, 35, 50);
        Assert.True(perApp[0] > events.Length / 7, $"top app has {perApp[0]} events");
        Assert.True(perApp.Take(5).Sum() > events.Length / 2, "the five largest apps should hold most events");

        foreach (IGrouping<string, AnalyticsEvent> user in events.GroupBy(e => e.UserId))
        {
            Assert.Single(user.Select(e => (e.AppId, e.DeviceId, e.Platform, e.OsVersion, e.AppVersion, e.Country)).Distinct());
        }

        Assert.All(events, e =>
        {
            Assert.Equal(e.EventName == "purchase", e.Revenue is > 0);

            // iOS: an upper-case IDFV and a dotted version from 15 on; Android: a 16-hex-digit id and a major version.
            Assert.True(
                e.Platform == "ios"
                    ? Guid.TryParse(e.DeviceId, out _) && e.DeviceId == e.DeviceId.ToUpperInvariant() && int.Parse(e.OsVersion.Split('.')[0]) is >= 15 and <= 19
                    : e.DeviceId.Length == 16 && int.TryParse(e.OsVersion, out int android) && android is >= 9 and <= 16,
                $"{e.Platform} {e.DeviceId} {e.OsVersion}");
            Assert.Matches("^[A-Z]{2}$", e.Country);
            if (e.PropertiesJson is not null)
            {
                using var document = JsonDocument.Parse(e.PropertiesJson);
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            }
        });

        Assert.True(events.Select(e => e.EventName).Distinct().Count() >= 10);
        Assert.Contains(events, e => e.PropertiesJson?.Contains("\"tags\":[\"", StringComparison.Ordinal) == true);
        Assert.Contains(events, e => e.Platform == "android");
        Assert.Contains(events, e => e.Platform == "ios");
    }

    [Fact]
    public void Training_keeps_its_event_name_shares_and_time()
    {
        AnalyticsEvent[] events = Events(EventDistribution.Training, 50_000);

        Assert.All(EventNameShares, expected => Assert.InRange(Percent(events, expected.EventName), expected.Percent * 0.85, expected.Percent * 1.15));
        Assert.All(events, e => Assert.InRange(
            e.EventTimestampMs, EventGeneratorOptions.DefaultStartTimestampMs - 3_600_000, EventGeneratorOptions.DefaultStartTimestampMs + 100_000));
    }

    [Fact]
    public void Apps_draw_many_users_from_a_home_market_of_their_own()
    {
        AnalyticsEvent[] events = Events(EventDistribution.Training, 40_000);
        (string AppId, string Country)[] users = [.. events.Select(e => (e.AppId, e.Country, e.UserId)).Distinct().Select(u => (u.AppId, u.Country))];

        // From the global mix alone, every app's largest market would be the US with under 30% of its users.
        var topCountries = new HashSet<string>();
        foreach (IGrouping<string, (string AppId, string Country)> app in users.GroupBy(u => u.AppId).OrderByDescending(a => a.Count()).Take(6))
        {
            IGrouping<string, (string AppId, string Country)> top = app.GroupBy(u => u.Country).MaxBy(c => c.Count())!;
            Assert.True(top.Count() > app.Count() * 0.3, $"{app.Key}: {top.Key} has {top.Count()} of {app.Count()} users");
            topCountries.Add(top.Key);
        }

        Assert.True(topCountries.Count >= 3, $"the largest apps' markets: {string.Join(", ", topCountries)}");
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Each_users_events_are_sessions_opened_by_session_start(EventDistribution distribution)
    {
        AnalyticsEvent[] events = Events(distribution, 30_000);
        var sessionUsers = new Dictionary<string, string>();
        foreach (IGrouping<string, AnalyticsEvent> user in events.GroupBy(e => e.UserId))
        {
            // The user's session under way: null before the first session_start and after a session_end.
            string? sessionId = null;
            bool firstSessionJustStarted = false;
            foreach (AnalyticsEvent e in user)
            {
                if (e.EventName == "session_start")
                {
                    sessionId = Properties(e).GetProperty("session_id").GetString()!;
                    sessionUsers.Add(sessionId, e.UserId);
                    firstSessionJustStarted = Properties(e).GetProperty("first_session").GetBoolean();
                    continue;
                }

                Assert.True(sessionId is not null, $"{e.UserId}: {e.EventName} outside a session");
                Assert.Equal(e.EventName == "install", firstSessionJustStarted);
                firstSessionJustStarted = false;
                if (e.EventName == "session_end")
                {
                    if (e.PropertiesJson is not null)
                    {
                        Assert.Equal(sessionId, Properties(e).GetProperty("session_id").GetString());
                    }

                    sessionId = null;
                }
            }
        }

        Assert.InRange(sessionUsers.Count, events.Length / 10, events.Length / 5);
        Assert.True(events.Count(e => e.EventName == "session_end") > sessionUsers.Count / 2, "most sessions should end with session_end");
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Sessions_of_several_users_are_interleaved(EventDistribution distribution)
    {
        AnalyticsEvent[] events = Events(distribution, 20_000);
        var openedAt = new Dictionary<string, int>();
        int ended = 0, interleaved = 0;
        for (int i = 0; i < events.Length; i++)
        {
            if (events[i].EventName == "session_start")
            {
                openedAt[events[i].UserId] = i;
            }
            else if (events[i].EventName == "session_end")
            {
                int start = openedAt[events[i].UserId];
                ended++;
                interleaved += events[start..i].Any(e => e.UserId != events[i].UserId) ? 1 : 0;
            }
        }

        Assert.True(interleaved > ended * 0.8, $"{interleaved} of {ended} sessions have other users' events in them");
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void In_session_events_follow_from_the_ones_before(EventDistribution distribution)
    {
        AnalyticsEvent[] events = Events(distribution, 30_000);
        int checkedEvents = 0;
        foreach (IGrouping<string, AnalyticsEvent> user in events.GroupBy(e => e.UserId))
        {
            string screen = "home";
            int screenViews = 0;
            JsonElement? levelStart = null, adImpression = null;
            foreach (AnalyticsEvent e in user)
            {
                JsonElement properties = Properties(e);
                switch (e.EventName)
                {
                    case "session_start":
                        (screen, screenViews, levelStart, adImpression) = ("home", 0, null, null);
                        break;
                    case "screen_view":
                        Assert.Equal(screen, properties.GetProperty("previous_screen").GetString());
                        Assert.Equal(++screenViews, properties.GetProperty("session_depth").GetInt32());
                        screen = properties.GetProperty("screen").GetString()!;
                        checkedEvents++;
                        break;
                    case "button_click":
                        Assert.Equal(screen, properties.GetProperty("screen").GetString());
                        break;
                    case "level_start":
                        levelStart = properties;
                        break;
                    case "level_complete":
                        AssertRepeats(levelStart, properties, "level");
                        levelStart = null;
                        checkedEvents++;
                        break;
                    case "ad_impression":
                        adImpression = properties;
                        break;
                    case "ad_click":
                        AssertRepeats(adImpression, properties, "ad_network", "placement");
                        checkedEvents++;
                        break;
                }
            }
        }

        Assert.True(checkedEvents > events.Length / 5, $"only {checkedEvents} events checked");
    }

    [Fact]
    public void Shifted_has_other_apps_months_later_with_unseen_countries_and_os_versions()
    {
        AnalyticsEvent[] training = Events(EventDistribution.Training, 30_000);
        AnalyticsEvent[] shifted = Events(EventDistribution.Shifted, 30_000);

        Assert.Empty(training.Select(e => e.AppId).Intersect(shifted.Select(e => e.AppId)));
        Assert.All(new[] { 1, 50, 10_000 }, appCount => Assert.Empty(AppIds(GeneratorProfile.Training, appCount).Intersect(AppIds(GeneratorProfile.Shifted, appCount))));

        long shiftedStart = DateTimeOffset.FromUnixTimeMilliseconds(EventGeneratorOptions.DefaultStartTimestampMs).AddMonths(5).ToUnixTimeMilliseconds();
        Assert.All(shifted, e => Assert.InRange(e.EventTimestampMs, shiftedStart - (3 * 86_400_000L), shiftedStart + (3 * 86_400_000L)));

        Assert.Contains(shifted, e => e.Platform == "ios" && e.OsVersion.StartsWith("19.", StringComparison.Ordinal));
        Assert.Contains(shifted, e => e.Platform == "android" && e.OsVersion == "16");
        Assert.DoesNotContain(training, e => e.OsVersion.StartsWith("19.", StringComparison.Ordinal) || e.OsVersion == "16");
        Assert.NotEmpty(shifted.Select(e => e.Country).Except(training.Select(e => e.Country)));

        Assert.True(Percent(shifted, "ad_impression") > Percent(training, "ad_impression") + 2, "shifted apps show more ads");
        Assert.True(Percent(shifted, "level_start") < Percent(training, "level_start") - 2, "shifted apps have fewer levels");
    }

    [Fact]
    public void Json_payloads_mix_epoch_and_iso_timestamps()
    {
        string[] payloads = [.. Take(new EventGenerator(new EventGeneratorOptions()), 2_000).Select(m => Encoding.UTF8.GetString(m.Payload))];

        Assert.Contains(payloads, p => p.Contains("\"event_timestamp\":17", StringComparison.Ordinal));
        Assert.Contains(payloads, p => p.Contains("\"event_timestamp\":\"17", StringComparison.Ordinal));
        Assert.Contains(payloads, p => p.Contains("Z\",\"device_id\"", StringComparison.Ordinal));
        Assert.Contains(payloads, p => p.Contains("+05:30\",\"device_id\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_are_checked_when_set()
    {
        Assert.Throws<ArgumentOutOfRangeException>("MalformedFraction", () => new EventGeneratorOptions { MalformedFraction = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>("ProtobufFraction", () => new EventGeneratorOptions { ProtobufFraction = double.NaN });
        Assert.Throws<ArgumentOutOfRangeException>("AppCount", () => new EventGeneratorOptions { AppCount = 0 });
        Assert.Throws<ArgumentOutOfRangeException>("StartTimestampMs", () => new EventGeneratorOptions { StartTimestampMs = 0 });
        Assert.Throws<ArgumentOutOfRangeException>("Distribution", () => new EventGeneratorOptions { Distribution = (EventDistribution)2 });
    }

    private static AnalyticsEvent[] Events(EventDistribution distribution, int count)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Distribution = distribution });
        return [.. Enumerable.Range(0, count).Select(_ => generator.NextEvent())];
    }

    private static JsonElement Properties(AnalyticsEvent e)
    {
        using var document = JsonDocument.Parse(e.PropertiesJson ?? "{}");
        return document.RootElement.Clone();
    }

    /// <summary>That <paramref name="later"/> repeats the values <paramref name="earlier"/> has for <paramref name="names"/>.</summary>
    private static void AssertRepeats(JsonElement? earlier, JsonElement later, params string[] names)
    {
        Assert.True(earlier.HasValue, $"{later} refers back to an event that did not come before it in its session");
        foreach (string name in names)
        {
            Assert.Equal(earlier.Value.GetProperty(name).GetRawText(), later.GetProperty(name).GetRawText());
        }
    }

    private static double Percent(AnalyticsEvent[] events, string eventName) => 100.0 * events.Count(e => e.EventName == eventName) / events.Length;

    private static IEnumerable<string> AppIds(GeneratorProfile profile, int appCount) =>
        new GeneratorCatalog(new Random(1), profile, appCount, userCount: 1, appSkew: 1.2).Apps.Select(a => a.Id);

    private static IEnumerable<string> Hex(GeneratedMessage[] messages) => messages.Select(m => Convert.ToHexString(m.Payload));

    private static GeneratedMessage[] Take(EventGenerator generator, int count)
    {
        var messages = new GeneratedMessage[count];
        for (int i = 0; i < count; i++)
        {
            messages[i] = generator.Next();
        }

        return messages;
    }
}

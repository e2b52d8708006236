using System.Text;
using System.Text.Json;
using EventPipeline.Stages.Events;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;

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

    [Fact]
    public void Same_seed_gives_the_same_bytes_and_another_seed_does_not()
    {
        GeneratedMessage[] first = Take(new EventGenerator(Mixed), 3_000);
        GeneratedMessage[] second = Take(new EventGenerator(Mixed), 3_000);
        GeneratedMessage[] other = Take(new EventGenerator(Mixed with { Seed = 6 }), 3_000);

        for (int i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i].Payload, second[i].Payload);
            Assert.Equal(first[i] with { Payload = second[i].Payload }, second[i]);
        }

        Assert.NotEqual(first.Select(m => Convert.ToHexString(m.Payload)), other.Select(m => Convert.ToHexString(m.Payload)));
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

    [Fact]
    public void Events_look_like_a_real_app_portfolio()
    {
        var generator = new EventGenerator(new EventGeneratorOptions());
        AnalyticsEvent[] events = [.. Enumerable.Range(0, 20_000).Select(_ => generator.NextEvent())];

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
            Assert.True(e.Platform == "ios" ? e.OsVersion.Contains('.') : int.TryParse(e.OsVersion, out _), $"{e.Platform} {e.OsVersion}");
            Assert.InRange(e.EventTimestampMs, EventGeneratorOptions.DefaultStartTimestampMs - 3_600_000, EventGeneratorOptions.DefaultStartTimestampMs + 40_000);
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
    }

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

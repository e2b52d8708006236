using System.Text.Json;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Codec;

/// <summary>Events for the codec tests: one typical event, and random/adversarial ones (text, numbers and JSON at their edges).</summary>
internal static class CodecTestEvents
{
    public static AnalyticsEvent Event(Action<AnalyticsEvent>? change = null)
    {
        var e = new AnalyticsEvent
        {
            EventId = Guid.Parse("6f1c2a9e-0b7d-4c3e-9a51-2f8e4d6b7c10"),
            AppId = "com.acme.puzzlequest",
            UserId = "u_00ab12cd34ef",
            EventName = "screen_view",
            EventTimestampMs = EventGeneratorOptions.DefaultStartTimestampMs + 12_345,
            DeviceId = "9F2C4B1A-7D3E-4E5F-8A6B-1C2D3E4F5A6B",
            Platform = "ios",
            OsVersion = "18.5",
            AppVersion = "3.12.1",
            Country = "US",
            PropertiesJson = """{"screen":"home","previous_screen":"shop","session_depth":3}""",
        };
        change?.Invoke(e);
        return e;
    }

    public static List<AnalyticsEvent> Adversarial(int seed, int count)
    {
        var random = new Random(seed);
        string RandomText(int max)
        {
            var chars = new char[random.Next(0, max)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = random.Next(6) switch
                {
                    0 => (char)random.Next(0x20, 0x7F),
                    1 => (char)random.Next(0xA0, 0x2FF),
                    2 => "é東京🎮"[random.Next(3)],
                    3 => (char)random.Next('0', '9' + 1),
                    4 => (char)random.Next('a', 'g'),
                    _ => "_-:.\"\\"[random.Next(6)],
                };
            }
            // Never split a surrogate pair: a lone surrogate is not valid Unicode (tested separately).
            var text = new string(chars);
            return char.IsHighSurrogate(text.LastOrDefault()) ? text[..^1] : text;
        }
        double[] specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, double.Epsilon, double.MaxValue, 1e-310,
            BitConverter.Int64BitsToDouble(0x7FF8_0000_DEAD_BEEF), 4.99, 0.1 + 0.2];
        var events = new List<AnalyticsEvent>();
        for (var i = 0; i < count; i++)
        {
            events.Add(Event(e =>
            {
                e.EventId = Guid.NewGuid();
                if (random.Next(3) == 0) e.AppId = RandomText(40);
                if (random.Next(3) == 0) e.UserId = RandomText(30);
                if (random.Next(3) == 0) e.DeviceId = random.Next(2) == 0 ? Guid.NewGuid().ToString() : RandomText(50);
                if (random.Next(3) == 0) e.EventName = RandomText(20);
                if (random.Next(4) == 0) e.Platform = RandomText(8);
                if (random.Next(4) == 0) e.OsVersion = "";
                if (random.Next(4) == 0) e.Country = RandomText(3);
                e.EventTimestampMs = random.Next(4) switch { 0 => long.MinValue, 1 => long.MaxValue, 2 => random.NextInt64(), _ => e.EventTimestampMs };
                e.Revenue = random.Next(3) == 0 ? null : specials[random.Next(specials.Length)];
                e.PropertiesJson = random.Next(8) switch
                {
                    0 => null,
                    1 => "{}",
                    2 => JsonSerializer.Serialize(new { s = RandomText(30), n = random.NextDouble() * 1e6, big = 1e300, neg = -0.0, arr = new object[] { 1, "x", true, null! } }),
                    3 => """{"a" : 1, "b":[ 2 ,3]}""", // not compact: travels verbatim
                    4 => """{"k":"\u00e9\n\"q\"","n":-0,"e":1.5E+10,"z":0.050,"deep":{"x":[[[]]],"y":{}}}""",
                    5 => "{\"huge\":\"" + new string('x', 200_000) + "\"}",
                    6 => """{"screen":"home","previous_screen":"unseen-screen","session_depth":12345678901234567890}""",
                    _ => """[1,2,3]""",
                };
            }));
        }
        return events;
    }
}

using System.Globalization;

using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>
/// The apps and users an <see cref="EventGenerator"/> draws from, built once from its seed and
/// <see cref="GeneratorProfile"/>. Each user keeps one app, device, platform, OS version, app version and country,
/// as real users mostly do between events; each app has a home market that a share of its users come from.
/// </summary>
internal sealed class GeneratorCatalog
{
    public GeneratorCatalog(Random random, GeneratorProfile profile, int appCount, int userCount, double appSkew)
    {
        Apps = new App[appCount];
        var appWeights = new (int, double)[appCount];
        for (int i = 0; i < appCount; i++)
        {
            Apps[i] = NewApp(random, profile, i);

            // Zipf-like (exponent 1.2 by default: the top app gets about a fifth of all events of 50 apps).
            appWeights[i] = (i, 1 / Math.Pow(i + 1, appSkew));
        }

        var appChoice = new WeightedChoice<int>(appWeights);
        Users = new User[userCount];
        var usersByApp = new List<int>[appCount];
        for (int i = 0; i < userCount; i++)
        {
            int app = appChoice.Pick(random);
            Users[i] = NewUser(random, profile, Apps[app]);
            (usersByApp[app] ??= []).Add(i);
        }

        UsersByApp = usersByApp.Select(users => users?.ToArray() ?? []).ToArray();
    }

    public App[] Apps { get; }

    public User[] Users { get; }

    /// <summary>Indexes into <see cref="Users"/> of each app's users (an app may have none).</summary>
    public int[][] UsersByApp { get; }

    private static App NewApp(Random random, GeneratorProfile profile, int index)
    {
        string[] genres = profile.Genres;
        int combinations = genres.Length * profile.Suffixes.Length;
        string name = genres[index % genres.Length] + profile.Suffixes[index / genres.Length % profile.Suffixes.Length];
        string id = $"com.{profile.Studios[index % profile.Studios.Length]}.{name}" + (index >= combinations ? (index / combinations).ToString(CultureInfo.InvariantCulture) : "");

        // Most users run the current release; a tail stays on older ones.
        int major = random.Next(1, 10);
        int minor = random.Next(3, 40);
        var versions = new WeightedChoice<string>(
            ($"{major}.{minor}.{random.Next(0, 5)}", 70),
            ($"{major}.{minor - 1}.{random.Next(0, 9)}", 20),
            ($"{major}.{minor - 3}.0", 10));

        // Apps are launched and marketed somewhere first: a Korean puzzle game is mostly played in Korea.
        return new App(id, versions, IosShare: 0.3 + (random.NextDouble() * 0.4),
            HomeCountry: profile.Countries.Pick(random), HomeShare: 0.3 + (random.NextDouble() * 0.4));
    }

    private static User NewUser(Random random, GeneratorProfile profile, App app)
    {
        bool ios = random.NextDouble() < app.IosShare;
        return new User(
            AppId: app.Id,
            UserId: "u_" + random.NextInt64(0, 1L << 48).ToString("x12", CultureInfo.InvariantCulture),
            // iOS apps see an upper-case IDFV (a UUID); Android apps a 16-hex-digit ANDROID_ID.
            DeviceId: ios ? NewUuid(random).ToString("D").ToUpperInvariant() : random.NextInt64().ToString("x16", CultureInfo.InvariantCulture),
            Platform: ios ? EventFieldRules.Ios : EventFieldRules.Android,
            OsVersion: (ios ? profile.IosVersions : profile.AndroidVersions).Pick(random),
            AppVersion: app.Versions.Pick(random),
            Country: random.NextDouble() < app.HomeShare ? app.HomeCountry : profile.Countries.Pick(random));
    }

    /// <summary>A version 4 UUID from <paramref name="random"/>, so that ids repeat with the seed.</summary>
    public static Guid NewUuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    internal sealed record App(string Id, WeightedChoice<string> Versions, double IosShare, string HomeCountry, double HomeShare);

    internal sealed record User(string AppId, string UserId, string DeviceId, string Platform, string OsVersion, string AppVersion, string Country);
}

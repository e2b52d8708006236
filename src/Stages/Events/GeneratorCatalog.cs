using System.Globalization;

namespace EventPipeline.Stages.Events;

/// <summary>
/// The apps and users an <see cref="EventGenerator"/> draws from, built once from its seed. Each user keeps one
/// app, device, platform, OS version, app version and country, as real users mostly do between events.
/// </summary>
internal sealed class GeneratorCatalog
{
    private static readonly string[] Studios = ["acme", "pixelforge", "bluewhale", "kiwi", "northstar", "tinyowl", "redpanda", "orbit"];
    private static readonly string[] Genres = ["puzzle", "merge", "idle", "word", "fit", "photo", "chat", "ride", "food", "bank", "music", "news", "shop", "travel", "chess", "farm", "racing", "sleep", "learn", "kids"];
    private static readonly string[] Suffixes = ["quest", "mania", "hub", "go", "pro", "land", "pal", "box", "verse", "ly"];

    private static readonly WeightedChoice<string> IosVersions = new(
        ("15.8.3", 2), ("16.7.10", 5), ("17.5.1", 8), ("17.7", 10), ("18.1.1", 15), ("18.3.2", 25), ("18.5", 35));

    private static readonly WeightedChoice<string> AndroidVersions = new(
        ("9", 2), ("10", 4), ("11", 7), ("12", 10), ("13", 18), ("14", 30), ("15", 29));

    private static readonly WeightedChoice<string> Countries = new(
        ("US", 28), ("IN", 12), ("BR", 8), ("GB", 6), ("DE", 6), ("JP", 5), ("FR", 4), ("ID", 4), ("MX", 4), ("KR", 3),
        ("CA", 3), ("TR", 3), ("ES", 2), ("IT", 2), ("PH", 2), ("VN", 2), ("AU", 2), ("NG", 1), ("EG", 1), ("PL", 1),
        ("NL", 1), ("SE", 1), ("AR", 1), ("ZA", 1), ("CH", 1));

    public GeneratorCatalog(Random random, int appCount, int userCount)
    {
        Apps = new App[appCount];
        var appWeights = new (int, double)[appCount];
        for (int i = 0; i < appCount; i++)
        {
            Apps[i] = NewApp(random, i);

            // Zipf-like with exponent 1.2: the top app gets about a fifth of all events of 50 apps.
            appWeights[i] = (i, 1 / Math.Pow(i + 1, 1.2));
        }

        var appChoice = new WeightedChoice<int>(appWeights);
        Users = new User[userCount];
        for (int i = 0; i < userCount; i++)
        {
            Users[i] = NewUser(random, Apps[appChoice.Pick(random)]);
        }
    }

    public App[] Apps { get; }

    public User[] Users { get; }

    private static App NewApp(Random random, int index)
    {
        int combinations = Genres.Length * Suffixes.Length;
        string name = Genres[index % Genres.Length] + Suffixes[index / Genres.Length % Suffixes.Length];
        string id = $"com.{Studios[index % Studios.Length]}.{name}" + (index >= combinations ? (index / combinations).ToString(CultureInfo.InvariantCulture) : "");

        // Most users run the current release; a tail stays on older ones.
        int major = random.Next(1, 10);
        int minor = random.Next(3, 40);
        var versions = new WeightedChoice<string>(
            ($"{major}.{minor}.{random.Next(0, 5)}", 70),
            ($"{major}.{minor - 1}.{random.Next(0, 9)}", 20),
            ($"{major}.{minor - 3}.0", 10));
        return new App(id, versions, IosShare: 0.3 + (random.NextDouble() * 0.4));
    }

    private static User NewUser(Random random, App app)
    {
        bool ios = random.NextDouble() < app.IosShare;
        return new User(
            AppId: app.Id,
            UserId: "u_" + random.NextInt64(0, 1L << 48).ToString("x12", CultureInfo.InvariantCulture),
            // iOS apps see an upper-case IDFV (a UUID); Android apps a 16-hex-digit ANDROID_ID.
            DeviceId: ios ? NewUuid(random).ToString("D").ToUpperInvariant() : random.NextInt64().ToString("x16", CultureInfo.InvariantCulture),
            Platform: ios ? EventFieldRules.Ios : EventFieldRules.Android,
            OsVersion: (ios ? IosVersions : AndroidVersions).Pick(random),
            AppVersion: app.Versions.Pick(random),
            Country: Countries.Pick(random));
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

    internal sealed record App(string Id, WeightedChoice<string> Versions, double IosShare);

    internal sealed record User(string AppId, string UserId, string DeviceId, string Platform, string OsVersion, string AppVersion, string Country);
}

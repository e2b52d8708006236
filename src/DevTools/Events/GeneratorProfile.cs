using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>
/// The data behind one <see cref="EventDistribution"/>: the vocabularies and mixes <see cref="GeneratorCatalog"/>
/// builds apps and users from, and the shape of the sessions <see cref="EventGenerator"/> plays out.
/// </summary>
internal sealed class GeneratorProfile
{
    public static readonly GeneratorProfile Training = new()
    {
        SeedSalt = 0,
        TimeOffsetMs = 0,
        Studios = ["acme", "pixelforge", "bluewhale", "kiwi", "northstar", "tinyowl", "redpanda", "orbit"],
        Genres = ["puzzle", "merge", "idle", "word", "fit", "photo", "chat", "ride", "food", "bank", "music", "news", "shop", "travel", "chess", "farm", "racing", "sleep", "learn", "kids"],
        Suffixes = ["quest", "mania", "hub", "go", "pro", "land", "pal", "box", "verse", "ly"],
        IosVersions = new(("15.8.3", 2), ("16.7.10", 5), ("17.5.1", 8), ("17.7", 10), ("18.1.1", 15), ("18.3.2", 25), ("18.5", 35)),
        AndroidVersions = new(("9", 2), ("10", 4), ("11", 7), ("12", 10), ("13", 18), ("14", 30), ("15", 29)),
        Countries = new(
            ("US", 28), ("IN", 12), ("BR", 8), ("GB", 6), ("DE", 6), ("JP", 5), ("FR", 4), ("ID", 4), ("MX", 4), ("KR", 3),
            ("CA", 3), ("TR", 3), ("ES", 2), ("IT", 2), ("PH", 2), ("VN", 2), ("AU", 2), ("NG", 1), ("EG", 1), ("PL", 1),
            ("NL", 1), ("SE", 1), ("AR", 1), ("ZA", 1), ("CH", 1)),

        // Tuned so that, with EventGenerator's level completions and ad_click conversions and the session shape
        // below, the stream keeps the event-name shares it had before sessions existed: screen_view 30%,
        // button_click 14%, session_start 12%, ad_impression 12%, session_end 10%, level_start 7%,
        // level_complete 5%, then 3/2/2/2/1% (EventGeneratorTests holds it to them).
        InSessionEvents = new(
            ("screen_view", 30), ("button_click", 14), ("ad_impression", 10.3), ("level_start", 7), ("notification_open", 3),
            ("ad_click", 3.7), ("purchase", 2), ("tutorial_complete", 2)),
        MeanInSessionEvents = 6.4,
        FirstSessionShare = 1.0 / 12,
        CleanEndShare = 10.0 / 12,
    };

    public static readonly GeneratorProfile Shifted = new()
    {
        // Another random stream for the same seed, so that users and devices are not Training's again.
        SeedSalt = 0x5A1F_7E3D,

        // ~5 months (153 days) on: other months, with the seasonality and releases that come with them.
        TimeOffsetMs = 153L * 24 * 3_600_000,
        Studios = ["lumen", "quartzbit", "harborline", "sproutly", "emberworks", "vertexa", "nimbus", "coralbay"],
        Genres = ["trivia", "solitaire", "runner", "tower", "rpg", "cards", "golf", "bingo", "sudoku", "dating", "weather", "recipe", "podcast", "budget", "notes", "yoga", "drums", "quiz", "garden", "pets"],
        Suffixes = ["blast", "craft", "rush", "star", "plus", "world", "mate", "kit", "zone", "io"],
        IosVersions = new(("17.7.2", 4), ("18.5", 12), ("18.6.2", 20), ("18.7.1", 14), ("19.0.1", 22), ("19.1", 28)),
        AndroidVersions = new(("12", 5), ("13", 10), ("14", 22), ("15", 38), ("16", 25)),
        Countries = new(
            ("IN", 18), ("US", 14), ("ID", 9), ("BR", 9), ("PK", 6), ("MX", 5), ("NG", 5), ("PH", 5), ("VN", 4), ("BD", 4),
            ("TH", 4), ("EG", 3), ("TR", 3), ("CO", 3), ("SA", 2), ("DE", 2), ("GB", 2), ("KE", 2), ("MY", 2), ("AR", 1),
            ("CL", 1), ("AE", 1)),

        // Hyper-casual and utility apps: more ads and notifications, fewer levels, shorter visits, more new users.
        InSessionEvents = new(
            ("screen_view", 26), ("button_click", 11), ("ad_impression", 15), ("level_start", 3), ("notification_open", 6),
            ("ad_click", 6), ("purchase", 3), ("tutorial_complete", 3)),
        MeanInSessionEvents = 4.5,
        FirstSessionShare = 0.2,
        CleanEndShare = 0.7,
    };

    /// <summary>Mixed into the seed, so that each distribution draws its own users from the same seed.</summary>
    public required int SeedSalt { get; init; }

    /// <summary>Added to <see cref="EventGeneratorOptions.StartTimestampMs"/>.</summary>
    public required long TimeOffsetMs { get; init; }

    /// <summary>App ids are com.{studio}.{genre}{suffix}: disjoint studio lists keep distributions' apps apart.</summary>
    public required string[] Studios { get; init; }

    public required string[] Genres { get; init; }

    public required string[] Suffixes { get; init; }

    public required WeightedChoice<string> IosVersions { get; init; }

    public required WeightedChoice<string> AndroidVersions { get; init; }

    /// <summary>Where users come from when not from their app's home market, and where home markets are.</summary>
    public required WeightedChoice<string> Countries { get; init; }

    /// <summary>
    /// What happens between session_start and session_end, apart from level_complete, which follows a level_start
    /// by chance (see <see cref="EventGenerator"/>). An ad_click before any ad was shown is played as an
    /// ad_impression, hence the weights that look off against the shares they give.
    /// </summary>
    public required WeightedChoice<string> InSessionEvents { get; init; }

    /// <summary>Mean of the geometric number of in-session events between session_start and the session's end.</summary>
    public required double MeanInSessionEvents { get; init; }

    /// <summary>Share of sessions that are a user's first: those start with an install event.</summary>
    public required double FirstSessionShare { get; init; }

    /// <summary>Share of sessions that close with session_end; the others stop when the app is killed.</summary>
    public required double CleanEndShare { get; init; }

    public static GeneratorProfile For(EventDistribution distribution) => distribution switch
    {
        EventDistribution.Training => Training,
        EventDistribution.Shifted => Shifted,
        _ => throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "Unknown distribution."),
    };
}

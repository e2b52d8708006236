using System.CommandLine;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Host.Commands;

/// <summary>
/// --clickhouse-url, --clickhouse-database, --clickhouse-table, --user and --password of a train command that records its
/// model's evaluation in ml_model_performance, and the check of that table before training spends its time.
/// </summary>
internal sealed class PerformanceTracking
{
    public PerformanceTracking(string urlDescription)
    {
        Url = UrlOption.Create("--clickhouse-url", urlDescription);
        Database = new Option<string>("--clickhouse-database") { Description = "Database of the ClickHouse table.", DefaultValueFactory = _ => "default" };
        Table = new Option<string>("--clickhouse-table")
        {
            Description = $"Model performance table ({ModelPerformanceTable.DdlFile}).", DefaultValueFactory = _ => ModelPerformanceTable.DefaultName,
        };
        User = new Option<string?>("--user") { Description = "ClickHouse user." };
        Password = new Option<string?>("--password") { Description = "ClickHouse password." };
    }

    public Option<Uri?> Url { get; }
    public Option<string> Database { get; }
    public Option<string> Table { get; }
    public Option<string?> User { get; }
    public Option<string?> Password { get; }

    public IEnumerable<Option> Options => [Url, Database, Table, User, Password];

    /// <summary>A client for the parsed --clickhouse-url, or null without one (nothing is recorded).</summary>
    public ClickHouseHttpClient? Connect(ParseResult parse) => parse.GetValue(Url) is { } url
        ? new ClickHouseHttpClient(url, parse.GetValue(Database)!, parse.GetValue(User), parse.GetValue(Password), TimeSpan.FromMinutes(1))
        : null;

    /// <summary>
    /// Checks the performance table; null when it is fit to record in, else the exit code after the reason is on
    /// <paramref name="stderr"/>: 2 for a table to create or upgrade, 1 for a server that failed.
    /// </summary>
    public static async Task<int?> CheckAsync(ModelPerformanceTable tracking, Uri url, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            await tracking.CheckAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (ModelTrackingException e)
        {
            await stderr.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is HttpRequestException or ClickHouseServerException)
        {
            await stderr.WriteLineAsync($"ClickHouse at {url}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}

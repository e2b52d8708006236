using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// The few calls the pipeline makes over ClickHouse's HTTP interface, which every server version from 18.16 to
/// today speaks the same way (the official .NET driver does not work with 18.16: see README).
/// </summary>
public sealed partial class ClickHouseHttpClient : IClickHouseQuery, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly string _database;
    private readonly string _insertSettings;

    /// <summary>Parameters of ClickHouse's HTTP interface itself: a setting by one of these names would change the request, not a setting.</summary>
    public static readonly IReadOnlyList<string> ReservedParameters =
        ["query", "database", "user", "password", "default_format", "compress", "decompress", "query_id", "session_id", "session_timeout", "session_check", "buffer_size", "wait_end_of_query", "quota_key"];

    /// <param name="insertSettings">ClickHouse settings appended to every INSERT's URL (insert_distributed_sync=1, say).</param>
    public ClickHouseHttpClient(Uri baseUrl, string database, string? username, string? password, TimeSpan requestTimeout,
        IReadOnlyDictionary<string, string>? insertSettings = null)
    {
        _baseUrl = baseUrl;
        _database = database;
        var settings = new StringBuilder();
        foreach (var (name, value) in insertSettings ?? new Dictionary<string, string>())
        {
            if (!IsValidSettingName(name))
                throw new ArgumentException($"ClickHouse:Settings:{name} is not a valid setting name", nameof(insertSettings));
            settings.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
        _insertSettings = settings.ToString();
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = requestTimeout,
        };
        if (!string.IsNullOrEmpty(username))
        {
            // Basic auth rather than URL parameters: credentials never end up in a URL that might be logged.
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
    }

    /// <summary>The database unqualified table names refer to.</summary>
    public string Database => _database;

    /// <summary>Runs a query and returns the response body (use a FORMAT clause for machine-readable output).</summary>
    public Task<string> QueryAsync(string sql, CancellationToken cancellationToken) => PostQueryAsync(sql, settings: "", cancellationToken);

    /// <param name="settings">URL-encoded settings to send with the query (<c>&amp;name=value...</c>).</param>
    private async Task<string> PostQueryAsync(string sql, string settings, CancellationToken cancellationToken)
    {
        using var content = new StringContent(sql, Encoding.UTF8, "text/plain");
        using var response = await _http.PostAsync(BuildUrl(query: null, settings), content, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw ClickHouseServerException.From(response.StatusCode, body);
        return body;
    }

    public async Task<TableSchema> DescribeTableAsync(string table, CancellationToken cancellationToken)
    {
        var tsv = await QueryAsync($"DESCRIBE TABLE {ClickHouseIdentifier.Quote(_database)}.{ClickHouseIdentifier.Quote(table)} FORMAT TabSeparated", cancellationToken)
            .ConfigureAwait(false);
        return TableSchema.ParseDescribe(tsv);
    }

    /// <summary>Sends an INSERT whose data is the request body. Throws <see cref="ClickHouseServerException"/> on a server error.</summary>
    /// <param name="queryId">Names the request on the server (system.processes), so that a timed-out insert can be
    /// waited for before it is sent again.</param>
    public async Task InsertAsync(string insertQuery, HttpContent body, CancellationToken cancellationToken, string? queryId = null)
    {
        var settings = queryId is null ? _insertSettings : $"{_insertSettings}&query_id={Uri.EscapeDataString(queryId)}";
        using var request = new HttpRequestMessage(HttpMethod.Post, BuildUrl(insertQuery, settings)) { Content = body };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw ClickHouseServerException.From(response.StatusCode, text);
        }
    }

    /// <summary>Whether a query with this id is still running on the server.</summary>
    public async Task<bool> IsQueryRunningAsync(string queryId, CancellationToken cancellationToken)
    {
        var count = await QueryAsync($"SELECT count() FROM system.processes WHERE query_id = {ClickHouseLiteral.Quote(queryId)} FORMAT TabSeparated",
            cancellationToken).ConfigureAwait(false);
        return count.Trim() != "0";
    }

    /// <summary>
    /// The names among <paramref name="names"/> that this server does not know as settings (system.settings), so that
    /// ClickHouse:Settings can be checked at start instead of failing every insert with code 115.
    /// </summary>
    public async Task<IReadOnlyList<string>> UnknownSettingsAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        var wanted = names.ToList();
        if (wanted.Count == 0)
            return [];
        var known = await QueryAsync(
            $"SELECT name FROM system.settings WHERE name IN ({string.Join(", ", wanted.Select(ClickHouseLiteral.Quote))}) FORMAT TabSeparated",
            cancellationToken).ConfigureAwait(false);
        var present = known.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return wanted.Where(n => !present.Contains(n)).ToList();
    }

    /// <summary>
    /// The values the server takes for the insert settings, read back from system.settings in a request that carries
    /// them as an insert does. 18.16 reads a number it cannot parse as 0 without a word (max_insert_block_size=lots
    /// becomes 0, and an insert then stores nothing yet succeeds), so a configured value is only trusted once read back.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> EffectiveInsertSettingsAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        var wanted = names.ToList();
        if (wanted.Count == 0)
            return new Dictionary<string, string>();
        var sql = $"SELECT name, value FROM system.settings WHERE name IN ({string.Join(", ", wanted.Select(ClickHouseLiteral.Quote))}) FORMAT TabSeparated";
        var body = await PostQueryAsync(sql, _insertSettings, cancellationToken).ConfigureAwait(false);
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t'))
            .Where(f => f.Length >= 2).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
    }

    /// <summary>Whether a ClickHouse setting may be passed through: [a-z_]+ and not a parameter of the HTTP interface.</summary>
    public static bool IsValidSettingName(string name) => SettingName().IsMatch(name) && !ReservedParameters.Contains(name);

    private Uri BuildUrl(string? query, string settings = "")
    {
        var builder = new StringBuilder(_baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/')).Append("/?database=")
            .Append(Uri.EscapeDataString(_database));
        if (query is not null)
            builder.Append("&query=").Append(Uri.EscapeDataString(query));
        builder.Append(settings);
        return new Uri(builder.ToString());
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("^[a-z_]+$")]
    private static partial Regex SettingName();
}

/// <summary>An error the ClickHouse server returned, with its numeric code when the body carries one.</summary>
public sealed partial class ClickHouseServerException(HttpStatusCode status, int code, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>ClickHouse's error code ("Code: 252"), or 0 when the body had none.</summary>
    public int Code { get; } = code;

    public static ClickHouseServerException From(HttpStatusCode status, string body)
    {
        var match = CodePattern().Match(body);
        var code = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var text = body.Trim();
        if (text.Length > 500)
            text = text[..500] + "...";
        return new ClickHouseServerException(status, code, $"HTTP {(int)status}: {text}");
    }

    [GeneratedRegex(@"Code:\s*(\d+)")]
    private static partial Regex CodePattern();
}

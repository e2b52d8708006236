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
    public async Task<string> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        using var content = new StringContent(sql, Encoding.UTF8, "text/plain");
        using var response = await _http.PostAsync(BuildUrl(query: null), content, cancellationToken).ConfigureAwait(false);
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
    public async Task InsertAsync(string insertQuery, HttpContent body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, BuildUrl(insertQuery, _insertSettings)) { Content = body };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw ClickHouseServerException.From(response.StatusCode, text);
        }
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

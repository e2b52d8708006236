using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EventPipeline.DevTools.LocalServers;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

[Collection(ClickHouseCollection.Name)]
public sealed class LocalClickHouseServerTests(ClickHouseFixture clickHouse) : IDisposable
{
    private const string ClickHouseClient = "/usr/bin/clickhouse-client";

    private readonly string _scratch = Path.Combine(Path.GetTempPath(), $"pipeline-tests-clickhouse-scratch-{Guid.NewGuid():N}");

    [Fact]
    public async Task Answers_queries_in_UTC()
    {
        var version = await clickHouse.Server.QueryAsync("SELECT version()");
        var timezone = await clickHouse.Server.QueryAsync("SELECT timezone()");

        Assert.Matches(@"^\d+\.\d+\.\d+", version);
        Assert.EndsWith("UTC", timezone.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_events_table_stores_what_it_is_given()
    {
        var table = await clickHouse.CreateEventsTableAsync();

        await clickHouse.Server.QueryAsync(
            $"INSERT INTO {table} FORMAT JSONEachRow " +
            """{"event_id":"6f1c5c55-7b0e-4a38-9e33-1f0b9f3f0a01","app_id":"app","user_id":"u1","event_name":"purchase","event_timestamp":"2024-03-01 12:00:00","device_id":"d","platform":"ios","os_version":"17.2","app_version":"1.0","country":"DE","revenue":4.99,"properties":"{}","event_date":"2024-03-01","kafka_partition":3,"kafka_offset":42}""");
        var row = await clickHouse.Server.QueryAsync(
            $"SELECT platform, country, revenue, toUnixTimestamp(event_timestamp), kafka_offset FROM {table}");

        Assert.Equal(1, await clickHouse.Server.CountAsync(table));
        Assert.Equal("ios\tDE\t4.99\t1709294400\t42\n", row);
    }

    [Fact]
    public async Task clickhouse_client_queries_over_the_native_port()
    {
        var table = await clickHouse.CreateEventsTableAsync();
        await clickHouse.Server.QueryAsync(
            $"INSERT INTO {table} (app_id, event_date, platform) SELECT 'app', today(), 'android' FROM system.numbers LIMIT 7");

        var result = await ExternalProcess.RunAsync(
            ClickHouseClient, ["--host", "127.0.0.1", "--port", $"{clickHouse.Server.TcpPort}", "--query", $"SELECT count() FROM {table}"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("7", result.Stdout.Trim());
    }

    [Fact]
    public async Task The_writer_user_needs_its_password()
    {
        using var http = new HttpClient();

        using var accepted = await PostAsUser(http, LocalClickHouseServer.WriterUser, clickHouse.Server.WriterPassword);
        using var refused = await PostAsUser(http, LocalClickHouseServer.WriterUser, clickHouse.Server.WriterPassword + "-wrong");

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(LocalClickHouseServer.WriterUser, (await accepted.Content.ReadAsStringAsync()).Trim());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Wrong password", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_queries_throw_with_the_server_error_text()
    {
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => clickHouse.Server.QueryAsync("SELEC 1"));

        Assert.Contains("Syntax error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_server_starts_again_on_the_same_port_with_its_data()
    {
        await using var server = await LocalClickHouseServer.StartAsync(_scratch);
        await server.QueryAsync(ClickHouseFixture.EventsTableDdl("events"));
        await server.QueryAsync("INSERT INTO events (app_id, event_date) SELECT toString(number), today() FROM system.numbers LIMIT 1000");
        var port = server.HttpPort;

        server.Kill();
        await Assert.ThrowsAsync<HttpRequestException>(() => server.QueryAsync("SELECT 1"));
        await server.StartAgainAsync();

        Assert.Equal(port, server.HttpPort);
        Assert.Equal(1000, await server.CountAsync("events"));
    }

    [Fact]
    public async Task Starting_on_a_folder_whose_server_still_runs_replaces_that_server()
    {
        await using var orphan = await LocalClickHouseServer.StartAsync(_scratch);
        await orphan.QueryAsync("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x");
        await orphan.QueryAsync("INSERT INTO kept VALUES (1), (2)");

        await using var successor = await LocalClickHouseServer.StartAsync(_scratch);

        await Assert.ThrowsAsync<HttpRequestException>(() => orphan.QueryAsync("SELECT 1"));
        Assert.Equal(2, await successor.CountAsync("kept"));
    }

    [Fact]
    public async Task A_server_that_exits_while_starting_fails_the_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => LocalClickHouseServer.StartAsync(_scratch, new LocalClickHouseOptions { ServerBinary = "/bin/false" }));

        Assert.Contains("exited with code 1", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    private async Task<HttpResponseMessage> PostAsUser(HttpClient http, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, clickHouse.Server.HttpUrl)
        {
            // 18.16 has no currentUser(); the query sees itself in system.processes.
            Content = new StringContent("SELECT user FROM system.processes WHERE query LIKE '%whoami-probe%'"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return await http.SendAsync(request);
    }
}

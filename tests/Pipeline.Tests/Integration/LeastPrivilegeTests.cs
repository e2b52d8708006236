using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>The worker runs as a ClickHouse user that may not run DDL, with its password from a file.</summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class LeastPrivilegeTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task The_worker_needs_no_DDL_rights_and_reads_its_password_from_a_file()
    {
        var topic = kafka.CreateTopic(partitions: 4);
        var table = await clickHouse.CreateEventsTableAsync();
        using (var http = new HttpClient())
        {
            // The writer user really is refused DDL: the test proves something only if it is.
            using var request = new HttpRequestMessage(HttpMethod.Post, clickHouse.Server.HttpUrl)
            {
                Content = new StringContent($"CREATE TABLE ddl_probe_{Guid.NewGuid():N} (x UInt8) ENGINE = Memory"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{LocalClickHouseServer.WriterUser}:{clickHouse.Server.WriterPassword}")));
            var response = await http.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("DDL", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }
        var passwordFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(passwordFile, clickHouse.Server.WriterPassword + "\n");
        try
        {
            kafka.ProduceAll(topic, EndToEnd.Generate(3000, seed: 4).Select(m => m.Payload));
            var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
                ("ClickHouse:Username", LocalClickHouseServer.WriterUser), ("ClickHouse:PasswordFile", passwordFile));
            using var worker = TestPipelineProcess.Start(args, output);
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= 3000 || worker.HasExited, TimeSpan.FromSeconds(60), "3000 rows");
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(3000, await clickHouse.Server.CountAsync(table));
            Assert.DoesNotContain(clickHouse.Server.WriterPassword, worker.Stderr);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }
}

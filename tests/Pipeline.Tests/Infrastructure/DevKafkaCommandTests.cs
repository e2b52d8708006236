using System.IO.Pipelines;
using System.Net.Sockets;
using EventPipeline.DevTools.LocalServers;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

public sealed class DevKafkaCommandTests
{
    [Fact]
    public async Task Announces_the_brokers_first_serves_the_topics_and_stops_on_cancel()
    {
        var stdout = new Pipe();
        using var cancel = new CancellationTokenSource();
        using var writer = new StreamWriter(stdout.Writer.AsStream());
        using var reader = new StreamReader(stdout.Reader.AsStream());

        var command = DevKafkaCommand.RunAsync(brokers: 2, partitions: 4, ["clicks", "views"], writer, cancel.Token);
        var firstLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var secondLine = await reader.ReadLineAsync();
        var thirdLine = await reader.ReadLineAsync();
        var bootstrapServers = firstLine![DevKafkaCommand.BootstrapLinePrefix.Length..];
        var metadata = await Kcat.RunAsync(["-L", "-b", bootstrapServers]);

        await cancel.CancelAsync();
        var exitCode = await command.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith(DevKafkaCommand.BootstrapLinePrefix, firstLine, StringComparison.Ordinal);
        Assert.Equal(2, bootstrapServers.Split(',').Length);
        Assert.Equal("topic=clicks partitions=4", secondLine);
        Assert.Equal("topic=views partitions=4", thirdLine);
        Assert.Contains("topic \"clicks\" with 4 partitions", metadata.Stdout, StringComparison.Ordinal);
        Assert.Contains("topic \"views\" with 4 partitions", metadata.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        var (host, port) = SplitHostPort(bootstrapServers.Split(',')[0]);
        using var client = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(host, port));
    }

    private static (string Host, int Port) SplitHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return (address[..colon], int.Parse(address[(colon + 1)..]));
    }
}

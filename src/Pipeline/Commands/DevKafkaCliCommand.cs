using System.CommandLine;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Host.Commands;

internal static class DevKafkaCliCommand
{
    public static Command Create()
    {
        var brokers = new Option<int>("--brokers") { Description = "Number of mock brokers.", DefaultValueFactory = _ => 3 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions per topic.", DefaultValueFactory = _ => 16 };
        var topics = new Option<string[]>("--topics")
        {
            Description = "Topics to create (comma separated or repeated).",
            DefaultValueFactory = _ => ["events", "events.dlq"],
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("dev-kafka", "Run an embedded Kafka-protocol cluster on loopback (librdkafka's mock cluster) until SIGTERM. " +
            "The first stdout line is bootstrap.servers=HOST:PORT,... Each partition keeps only ~5 MiB / 100,000 messages (older ones are trimmed).")
        {
            brokers, partitions, topics,
        };
        command.SetAction(async (parse, _) =>
        {
            using var shutdown = new ShutdownSignal();
            await Console.Error.WriteLineAsync(EmbeddedBrokerLimits.DevKafkaWarning).ConfigureAwait(false);
            var names = parse.GetValue(topics)!.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            return await DevKafkaCommand.RunAsync(parse.GetValue(brokers), parse.GetValue(partitions), names, Console.Out, shutdown.Token).ConfigureAwait(false);
        });
        return command;
    }
}

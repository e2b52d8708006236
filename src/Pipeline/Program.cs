using System.CommandLine;
using EventPipeline.Host.Commands;

namespace EventPipeline.Host;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Kafka -> TPL Dataflow -> ClickHouse event pipeline for mobile analytics events.")
        {
            RunCommand.Create(),
            GenerateCommand.Create(),
            DevKafkaCliCommand.Create(),
            DemoCommand.Create(),
            TrainCommand.Create(),
            CalibrateCommand.Create(),
            CodecCommand.Create(),
            ProduceCommand.Create(),
            DlqCommand.Create(),
        };
        // Signals are ours (ShutdownSignal): the worker drains for as long as Pipeline:DrainTimeoutSeconds says,
        // which System.CommandLine's own 2-second termination timeout would cut short.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }
}

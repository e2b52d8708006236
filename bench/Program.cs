using EventPipeline.Bench.Batching;
using EventPipeline.Bench.Codec;
using EventPipeline.Bench.E2e;
using EventPipeline.Bench.Faults;
using EventPipeline.Bench.Micro;

namespace EventPipeline.Bench;

/// <summary>
/// <c>e2e</c>: the pipeline against its ceilings and ClickHouse's own Kafka engine; <c>faults</c>: kill -9 and other
/// faults under both delivery guarantees; <c>batching</c>:
/// the batch-size policies on the real pipeline beside the simulator; <c>codec</c>: the learned event codec, its
/// featurizer-only ablation and the classical codecs a user would pick instead; <c>latency</c>: produce->visible
/// percentiles under paced load; <c>memory</c>: the worker's RSS against the backlog's size; <c>partitioning</c>: the
/// producer's partitioning strategies with two workers; <c>micro</c>: BenchmarkDotNet.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (BenchCli.Intercept(args, Console.Out, Console.Error) is { } exitCode)
            return exitCode;
        switch (args.FirstOrDefault())
        {
            case "e2e":
                return await E2eBenchmark.RunAsync(E2eOptions.Parse(args[1..]));
            case "faults":
                return await FaultsBenchmark.RunAsync(FaultsOptions.Parse(args[1..]));
            case "batching":
                return await BatchingBenchmark.RunAsync(BatchingOptions.Parse(args[1..]));
            case "cpu":
                return await Cpu.CpuBenchmark.RunAsync(Cpu.CpuOptions.Parse(args[1..]));
            case "latency":
                return await Latency.LatencyBenchmark.RunAsync(Latency.LatencyOptions.Parse(args[1..]));
            case "memory":
                return await Memory.MemoryBenchmark.RunAsync(Memory.MemoryOptions.Parse(args[1..]));
            case "partitioning":
                return await Partitioning.PartitioningBenchmark.RunAsync(Partitioning.PartitioningOptions.Parse(args[1..]));
            case "micro":
                return MicroCommand.Run(args[1..]);
            case "codec":
                return CodecBenchmark.Run(args[1..]);
            case "codec-wire":
                return CodecWireBenchmark.Run(args[1..]);
            case "codec-e2e":
                return await CodecE2eBenchmark.RunAsync(args[1..]);
            default:
                Console.Error.WriteLine("""
                    usage: dotnet run -c Release --project bench -- e2e [--events 1500000] [--partitions 128] [--repeat 3]
                                 [--batch-sizes 50000,100000] [--max-concurrent-inserts 2] [--no-kcat] [--out perf-data]
                           dotnet run -c Release --project bench -- faults [--kills 20] [--events 2000000] [--partitions 256]
                                 [--guarantee ExactlyOnce|AtLeastOnce|both] [--batch-size N] [--seed 7] [--no-extra-faults] [--out perf-data]
                           dotnet run -c Release --project bench -- batching --profile steady|diurnal|step|bursty|saturation|merge-pressure|slow-clickhouse|all
                                 [--seconds 60] [--repeat 10] [--grid] [--static-sizes 10000,20000] [--threshold-targets-ms 500,1000] [--no-dqn] [--out perf-data]
                           dotnet run -c Release --project bench -- cpu [--small 100000] [--large 450000] [--partitions 128] [--repeat 3] [--input json|protobuf] [--out perf-data]
                           dotnet run -c Release --project bench -- latency [--max-rate N] [--backlog 450000] [--levels 25,50,75] [--repeat 3] [--seconds 30] [--out perf-data]
                           dotnet run -c Release --project bench -- memory [--small 500000] [--large 5000000] [--partitions N] [--repeat 1] [--out perf-data]
                           dotnet run -c Release --project bench -- partitioning [--strategies hash,round-robin,pkg,bounded-load,d-choices,ppo]
                                 [--workloads zipf-1.1,zipf-1.5,flash-crowd,diurnal-shift] [--partitions 128] [--events 200000] [--rate 20000] [--repeat 5] [--out perf-data]
                           dotnet run -c Release --project bench -- micro [BenchmarkDotNet args, e.g. --filter *]
                           dotnet run -c Release --project bench -- codec [--events 100000] [--repeat 3] [--model src/Models/Artifacts/codec] [--out perf-data]
                           dotnet run -c Release --project bench -- codec-wire [--events 60000] [--rate 20000] [--linger-ms 5,50] [--partitions 64,128] [--out perf-data]
                           dotnet run -c Release --project bench -- codec-e2e [--events 400000] [--repeat 3] [--partitions 64] [--batch-size 100000] [--out perf-data]
                    """);
                return 2;
        }
    }
}

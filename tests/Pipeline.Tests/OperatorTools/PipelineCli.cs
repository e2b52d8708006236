using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>Runs <c>dotnet pipeline.dll ...</c> to completion, as an operator would, with stdout and stderr redirected.</summary>
internal static class PipelineCli
{
    public static Task<ProcessResult> RunAsync(params string[] arguments) =>
        ExternalProcess.RunAsync(PipelineProcess.DotnetHost, [PipelineProcess.PipelineDll, .. arguments], timeout: TimeSpan.FromSeconds(120));

    /// <summary>A dead letter exactly as <see cref="DeadLetterStage"/> writes it: the original headers first, then its six.</summary>
    public static Message<byte[]?, byte[]> DeadLetter(string kind, string stage, string sourceTopic, int sourcePartition, long sourceOffset,
        byte[] value, byte[]? key = null, DateTimeOffset? timestamp = null, params (string Key, byte[] Value)[] originalHeaders)
    {
        var headers = new Headers();
        foreach (var (k, v) in originalHeaders)
            headers.Add(k, v);
        headers.Add(DeadLetterStage.StageHeader, Encoding.UTF8.GetBytes(stage));
        headers.Add(DeadLetterStage.KindHeader, Encoding.UTF8.GetBytes(kind));
        headers.Add(DeadLetterStage.ReasonHeader, Encoding.UTF8.GetBytes($"{kind} at {sourcePartition}@{sourceOffset}"));
        headers.Add(DeadLetterStage.TopicHeader, Encoding.UTF8.GetBytes(sourceTopic));
        headers.Add(DeadLetterStage.PartitionHeader, Encoding.UTF8.GetBytes(sourcePartition.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterStage.OffsetHeader, Encoding.UTF8.GetBytes(sourceOffset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var message = new Message<byte[]?, byte[]> { Key = key, Value = value, Headers = headers };
        if (timestamp is { } t)
            message.Timestamp = new Timestamp(t.UtcDateTime, TimestampType.CreateTime);
        return message;
    }

    /// <summary>Sum of high watermarks: how many messages were ever produced to the topic.</summary>
    public static long HighWatermarkSum(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "watermarks" }).Build();
        return Enumerable.Range(0, partitions).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Host.Commands;

/// <summary>The stdin input of <c>pipeline produce</c>: JSON lines as the messages of a one-partition source.</summary>
internal static class StdinLineReader
{
    /// <summary>
    /// Sends each line's raw bytes (no re-encoding: invalid UTF-8 stays visible to the decoder), numbered from 1 as if
    /// they were the offsets of a one-partition source, so that both inputs share the stages. The lines of one read
    /// travel as one chunk, like the messages of one poll from Kafka.
    /// </summary>
    public static async Task<long> ReadLinesAsync(ITargetBlock<PipelineMessage[]> target, CancellationToken stop)
    {
        var lease = new PartitionLease(new TopicPartition("stdin", 0));
        var reader = PipeReader.Create(Console.OpenStandardInput());
        var chunk = new List<PipelineMessage>();
        long lineNumber = 0, read = 0;
        void Add(ReadOnlySequence<byte> line)
        {
            lineNumber++;
            if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == '\r')
                line = line.Slice(0, line.Length - 1);
            if (line.IsEmpty)
                return;
            chunk.Add(new PipelineMessage(lease, lineNumber, lease.Offsets.Register(lineNumber), null, line.ToArray(), null,
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
        async Task<bool> SendAsync()
        {
            if (chunk.Count == 0)
                return true;
            PipelineMessage[] lines = [.. chunk];
            chunk.Clear();
            if (!await target.SendAsync(lines, stop).ConfigureAwait(false))
                return false;
            read += lines.Length;
            return true;
        }

        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(stop).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    Add(buffer.Slice(0, end));
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (chunk.Count >= KafkaSourceOptions.DefaultMaxChunkSize && !await SendAsync().ConfigureAwait(false))
                        return read;
                }
                if (result.IsCompleted && !buffer.IsEmpty)
                    Add(buffer);
                if (!await SendAsync().ConfigureAwait(false) || result.IsCompleted)
                    return read;
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return read; // SIGTERM: what was read is still sent
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}

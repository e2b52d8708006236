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
    /// they were the offsets of a one-partition source, so that both inputs share the stages.
    /// </summary>
    public static async Task<long> ReadLinesAsync(ITargetBlock<PipelineMessage> target, CancellationToken stop)
    {
        var lease = new PartitionLease(new TopicPartition("stdin", 0));
        var reader = PipeReader.Create(Console.OpenStandardInput());
        long lineNumber = 0, read = 0;
        async Task<bool> SendAsync(ReadOnlySequence<byte> line)
        {
            lineNumber++;
            if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == '\r')
                line = line.Slice(0, line.Length - 1);
            if (line.IsEmpty)
                return true;
            var message = new PipelineMessage(lease, lineNumber, lease.Offsets.Register(lineNumber), null, line.ToArray(), null,
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (!await target.SendAsync(message, stop).ConfigureAwait(false))
                return false;
            read++;
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
                    if (!await SendAsync(buffer.Slice(0, end)).ConfigureAwait(false))
                        return read;
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                        await SendAsync(buffer).ConfigureAwait(false);
                    return read;
                }
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

using Confluent.Kafka;

namespace EventPipeline.Stages;

/// <summary>What a producer needs to know about its topic before choosing partitions itself.</summary>
public static class TopicPartitionCount
{
    /// <exception cref="InvalidOperationException">The topic does not exist or has no partitions.</exception>
    public static int Of(Handle client, string topic)
    {
        using var admin = new DependentAdminClientBuilder(client).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.IsError || found.Partitions.Count == 0)
            throw new InvalidOperationException($"Topic '{topic}' has no partitions (does it exist?{(found?.Error.IsError == true ? " " + found.Error.Reason : "")})");
        return found.Partitions.Count;
    }
}

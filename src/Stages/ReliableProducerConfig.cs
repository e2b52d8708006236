using Confluent.Kafka;

namespace EventPipeline.Stages;

/// <summary>
/// The producer settings of every client that must not lose what it sends (dead letters, the batch ledger, codec
/// envelopes, replays, generated events): acks=all and idempotence, so that a delivery report means the broker has the
/// message and librdkafka's retries never duplicate or reorder it.
/// </summary>
public static class ReliableProducerConfig
{
    /// <param name="role">Names the client to the broker: event-pipeline-ROLE-HOST.</param>
    /// <param name="tune">Settings of this producer's own, applied before <paramref name="clientProperties"/> so that those win.</param>
    /// <param name="clientProperties">librdkafka properties from configuration (security settings, tuning); they win.</param>
    public static ProducerConfig Create(string bootstrapServers, string role, IEnumerable<KeyValuePair<string, string>>? clientProperties,
        int lingerMs = 5, Action<ProducerConfig>? tune = null)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = lingerMs,
            ClientId = $"event-pipeline-{role}-{Environment.MachineName}",
        };
        tune?.Invoke(config);
        foreach (var (key, value) in clientProperties ?? [])
            config.Set(key, value);
        return config;
    }
}

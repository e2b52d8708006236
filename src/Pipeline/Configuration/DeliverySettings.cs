namespace EventPipeline.Host.Configuration;

public sealed class DeliverySettings
{
    /// <summary>AtLeastOnce (default) or ExactlyOnce (needs a table that deduplicates blocks, see README).</summary>
    public string Guarantee { get; set; } = "AtLeastOnce";

    /// <summary>Exactly-once batch ledger; defaults to "&lt;Kafka:Topic&gt;.batches".</summary>
    public string LedgerTopic { get; set; } = "";
}

namespace EventPipeline.Stages;

/// <summary>
/// The security settings among Kafka:Properties (security.*, sasl.*, ssl.*): they reach every client of the cluster,
/// while consumer- or producer-only tuning would make a client of the other kind refuse to start.
/// </summary>
public static class KafkaSecurityProperties
{
    public static bool IsSecurityKey(string key) =>
        key.StartsWith("security.", StringComparison.Ordinal) || key.StartsWith("sasl.", StringComparison.Ordinal) || key.StartsWith("ssl.", StringComparison.Ordinal);

    /// <summary>The security entries of <paramref name="properties"/>, in a new dictionary.</summary>
    public static Dictionary<string, string> Select(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var selected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in properties)
        {
            if (IsSecurityKey(key))
                selected[key] = value;
        }
        return selected;
    }

    /// <summary>
    /// The settings of one client of the cluster: the security entries of <paramref name="properties"/>, then that
    /// client's own <paramref name="clientProperties"/>, which win.
    /// </summary>
    public static Dictionary<string, string> SelectWith(IEnumerable<KeyValuePair<string, string>> properties, IEnumerable<KeyValuePair<string, string>>? clientProperties)
    {
        var merged = Select(properties);
        foreach (var (key, value) in clientProperties ?? [])
            merged[key] = value;
        return merged;
    }
}

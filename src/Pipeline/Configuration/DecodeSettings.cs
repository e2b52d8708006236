namespace EventPipeline.Host.Configuration;

public sealed class DecodeSettings
{
    public int Parallelism { get; set; } = 2;
    public int MaxMessageBytes { get; set; } = 1_048_576;

    /// <summary>Confluent Protobuf schema ids to accept, comma-separated; empty accepts any. Others are dead-lettered as unknown_schema.</summary>
    public string ProtobufSchemaIds { get; set; } = "";

    /// <exception cref="ConfigurationException">A value is not a non-negative integer; the message names the key.</exception>
    public IReadOnlyList<int> ParseProtobufSchemaIds() =>
        ProtobufSchemaIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ConfigurationException($"Decode:ProtobufSchemaIds: '{id}' is not a schema id (comma-separated non-negative integers, e.g. 1,7)"))
            .Distinct().ToList();
}

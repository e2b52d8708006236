namespace EventPipeline.Stages.ClickHouse;

public enum ColumnDefaultKind
{
    None,
    Default,
    Materialized,
    Alias,
    Ephemeral,
}

/// <summary>One row of DESCRIBE TABLE: the type stays text until a mapping needs it, so unsupported types only
/// matter for columns that are actually inserted.</summary>
public sealed record ColumnSchema(string Name, string Type, ColumnDefaultKind DefaultKind, string DefaultExpression);

using System.Text;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>String literals spliced into the few queries built from configuration.</summary>
public static class ClickHouseLiteral
{
    public static string Quote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c is '\'' or '\\')
                quoted.Append('\\');
            quoted.Append(c);
        }
        return quoted.Append('\'').ToString();
    }
}

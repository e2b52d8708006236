using System.Text.Json;

namespace EventPipeline.Stages.Events;

/// <summary>Wording of JSON errors, shared by the event and the embedded properties readers.</summary>
internal static class JsonText
{
    public static ReadOnlySpan<byte> Whitespace => " \t\r\n"u8;

    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString(),
    };

    /// <summary>
    /// "at byte N: what" for a reader exception, N counted from <paramref name="offset"/> bytes before
    /// <paramref name="json"/>. The reader reports line and column; a byte offset is easier
    /// to find in a dead-lettered payload, and its own "LineNumber: ..." suffix would repeat the position.
    /// </summary>
    public static string Malformed(ReadOnlySpan<byte> json, JsonException ex, int offset = 0)
    {
        long lineStart = 0;
        for (long line = 0; line < (ex.LineNumber ?? 0); line++)
        {
            int newline = json[(int)lineStart..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            lineStart += newline + 1;
        }

        int suffix = ex.Message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        string what = suffix < 0 ? ex.Message : ex.Message[..suffix];
        return $"at byte {offset + lineStart + (ex.BytePositionInLine ?? 0)}: {what}";
    }
}

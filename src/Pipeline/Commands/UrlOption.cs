using System.CommandLine;

namespace EventPipeline.Host.Commands;

/// <summary>An option that takes an absolute http(s) URL.</summary>
internal static class UrlOption
{
    /// <summary>
    /// System.CommandLine 3.0 cannot convert a token to <see cref="Uri"/> (it throws "Cannot parse argument ... as
    /// expected type 'System.Uri'" when the value is read), so the URL is parsed here, and a bad one is a parse error
    /// that names the option.
    /// </summary>
    public static Option<Uri?> Create(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
                return url;
            result.AddError($"{name} must be an absolute http(s) URL, got '{text}'");
            return null;
        },
    };
}

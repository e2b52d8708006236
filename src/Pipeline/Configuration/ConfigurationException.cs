namespace EventPipeline.Host.Configuration;

/// <summary>Thrown at start for a bad configuration value; the message always names the key.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

namespace EventPipeline.Tests.Infrastructure;

/// <summary>How an external program ended: its exit code and everything it wrote.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

namespace EventPipeline.Host; internal static class Program { public static int Main() => 0; }

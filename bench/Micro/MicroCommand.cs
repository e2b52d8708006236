namespace EventPipeline.Bench.Micro;
internal static class MicroCommand { public static int Run(string[] args) => 0; }

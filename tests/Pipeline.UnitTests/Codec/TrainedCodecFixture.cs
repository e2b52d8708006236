using EventPipeline.Models.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Codec;

/// <summary>A model artifact trained once per test class into a temporary directory, deleted afterwards.</summary>
public abstract class ArtifactFixture : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"codec-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One small codec trained once for the codec tests (a few seconds on a CPU), in a temporary directory.</summary>
public sealed class TrainedCodecFixture : ArtifactFixture
{
    public TrainedCodecFixture()
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 5 });
        TrainingEvents = [.. Enumerable.Range(0, 12_000).Select(_ => generator.NextEvent())];
        Metadata = CodecTrainer.Train(TrainingEvents, new CodecTrainingOptions { Epochs = 3, ModelId = 7, Source = "test" }, Directory, _ => { });
    }

    public IReadOnlyList<AnalyticsEvent> TrainingEvents { get; }

    public CodecMetadata Metadata { get; }
}

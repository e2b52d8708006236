using System.Text.Json.Nodes;
using EventPipeline.Models.Codec;

namespace EventPipeline.Tests.Codec;

public sealed class CodecArtifactTests(TrainedCodecFixture trained) : IClassFixture<TrainedCodecFixture>
{
    private string CopyArtifact(Action<JsonObject>? edit = null, bool withWeights = true)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"codec-artifact-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var metadata = JsonNode.Parse(File.ReadAllText(Path.Combine(trained.Directory, CodecArtifact.MetadataFile)))!.AsObject();
        edit?.Invoke(metadata);
        File.WriteAllText(Path.Combine(directory, CodecArtifact.MetadataFile), metadata.ToJsonString());
        if (withWeights)
            File.Copy(Path.Combine(trained.Directory, CodecArtifact.WeightsFile), Path.Combine(directory, CodecArtifact.WeightsFile));
        return directory;
    }

    [Fact]
    public void A_saved_artifact_loads_with_its_metadata_vocabularies_and_evaluation()
    {
        var metadata = CodecArtifact.ReadMetadata(trained.Directory);
        Assert.Equal(7, metadata.ModelId);
        Assert.Equal(CodecArtifact.SchemaHash, metadata.SchemaHash);
        Assert.Equal(CodecMetadata.CurrentFormat, metadata.Format);
        Assert.Equal(3, metadata.LossCurve.Count);
        Assert.True(metadata.LossCurve[^1] < metadata.LossCurve[0], "the loss goes down");
        Assert.Contains("com.", metadata.Vocabularies.AppIds[0]);
        Assert.Equal(trained.Metadata.Evaluation, metadata.Evaluation with { FieldAccuracy = trained.Metadata.Evaluation.FieldAccuracy });
        using var codec = EventCodec.Load(trained.Directory);
        Assert.True(codec.UsesNetwork);
    }

    [Fact]
    public void An_artifact_of_another_feature_schema_is_refused_naming_both_hashes()
    {
        var directory = CopyArtifact(m => m["schema_hash"] = "0123456789abcdef");
        var error = Assert.Throws<CodecModelException>(() => EventCodec.Load(directory));
        Assert.Contains("0123456789abcdef", error.Message);
        Assert.Contains(CodecArtifact.SchemaHash, error.Message);
        Assert.Contains("retrain", error.Message);
    }

    [Fact]
    public void An_artifact_of_another_format_a_missing_file_or_an_invalid_model_id_is_refused()
    {
        Assert.Contains("artifact format 99", Assert.Throws<CodecModelException>(() => EventCodec.Load(CopyArtifact(m => m["format"] = 99))).Message);
        Assert.Contains("model id 0", Assert.Throws<CodecModelException>(() => EventCodec.Load(CopyArtifact(m => m["model_id"] = 0))).Message);
        Assert.Contains(CodecArtifact.WeightsFile, Assert.Throws<CodecModelException>(() => EventCodec.Load(CopyArtifact(withWeights: false))).Message);
        Assert.Contains(CodecArtifact.MetadataFile, Assert.Throws<CodecModelException>(() => EventCodec.Load(Path.GetTempPath() + Guid.NewGuid())).Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_vocabularies_are_refused()
    {
        // One app more in the vocabulary: the saved embedding and head no longer have the shapes the metadata implies.
        var directory = CopyArtifact(m => m["vocabularies"]!["app_ids"]!.AsArray().Add("com.example.extra"));
        var error = Assert.Throws<CodecModelException>(() => EventCodec.Load(directory));
        Assert.Contains("does not match", error.Message);
    }

    [Fact]
    public void Two_models_with_one_id_cannot_be_loaded_together()
    {
        var error = Assert.Throws<CodecModelException>(() => CodecRegistry.Load([trained.Directory, CopyArtifact()]));
        Assert.Contains("share id 7", error.Message);
    }
}

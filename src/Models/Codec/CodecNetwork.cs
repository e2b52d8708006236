using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EventPipeline.Models.Codec;

/// <summary>Shape of the autoencoder; saved in the artifact.</summary>
public sealed record CodecNetworkOptions
{
    public int EmbeddingDim { get; init; } = 8;
    public int Hidden { get; init; } = 32;

    /// <summary>Latent dimensions; each is quantised to <see cref="LatentBits"/> bits on the wire.</summary>
    public int LatentDims { get; init; } = 8;

    public int LatentBits { get; init; } = 4;

    public int LatentBytes => (LatentDims * LatentBits + 7) / 8;
}

/// <summary>
/// The autoencoder over the categorical features: per-field embeddings -> MLP -> tanh latent, quantised to a few bits
/// per dimension -> MLP -> one softmax head per field. Trained with a straight-through estimator for the rounding.
/// The decoder only ever sees the integer codes, so producer and consumer feed it identical inputs.
/// </summary>
internal sealed class CodecNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Embedding _embedding;
    private readonly Linear _encoderHidden;
    private readonly Linear _encoderLatent;
    private readonly Linear _decoderIn;
    private readonly Linear _decoderHidden;
    private readonly Linear _heads;
    private readonly Tensor _fieldOffsets;
    private readonly int _fields;
    private readonly int _levels;

    // Every scalar the passes use, held for the module's life. TorchSharp's implicit ones (a literal in `latent + 1`, the
    // default alpha of `tensor + tensor`) are temporaries that the finalizer may free while the native call still reads
    // them; the freed memory can come back as another thread's float scalar. A produce pod failed that way: "For
    // integral input tensors, argument alpha must not be a floating point number" on the integral index add.
    private readonly Scalar _integralOne = 1L.ToScalar();
    private readonly Scalar _one = 1.0.ToScalar();
    private readonly Scalar _minusOne = (-1.0).ToScalar();
    private readonly Scalar _zero = 0.0.ToScalar();
    private readonly Scalar _halfRange;
    private readonly Scalar _maxLevel;
    private readonly Scalar _step;

    public CodecNetwork(int[] fieldSizes, CodecNetworkOptions options) : base("event_codec")
    {
        Options = options;
        _fields = fieldSizes.Length;
        _levels = 1 << options.LatentBits;
        _halfRange = ((_levels - 1) / 2.0).ToScalar();
        _maxLevel = ((double)(_levels - 1)).ToScalar();
        _step = (2.0 / (_levels - 1)).ToScalar();
        var offsets = new long[_fields];
        for (var f = 1; f < _fields; f++)
            offsets[f] = offsets[f - 1] + fieldSizes[f - 1];
        HeadOffsets = [.. offsets.Select(o => (int)o)];
        TotalClasses = fieldSizes.Sum();
        _embedding = nn.Embedding(TotalClasses, options.EmbeddingDim);
        _encoderHidden = nn.Linear(_fields * options.EmbeddingDim, options.Hidden);
        _encoderLatent = nn.Linear(options.Hidden, options.LatentDims);
        _decoderIn = nn.Linear(options.LatentDims, options.Hidden);
        _decoderHidden = nn.Linear(options.Hidden, options.Hidden);
        _heads = nn.Linear(options.Hidden, TotalClasses);
        _fieldOffsets = tensor(offsets).unsqueeze(0);
        RegisterComponents();
    }

    public CodecNetworkOptions Options { get; }

    /// <summary>Where each field's logits start in the decoder's output.</summary>
    public int[] HeadOffsets { get; }

    public int TotalClasses { get; }

    /// <summary>Training pass: indices (B x fields) -> logits (B x all classes) through the quantised latent.</summary>
    public override Tensor forward(Tensor indices)
    {
        using var scope = NewDisposeScope();
        var latent = EncodeContinuous(indices);
        var quantised = Dequantise(QuantiseCodes(latent));
        // Straight-through: the forward pass sees the rounded latent, the gradient flows as if it were not rounded.
        var straight = latent.add(quantised.add(latent, _minusOne).detach(), _one);
        return DecodeLogits(straight).MoveToOuterDisposeScope();
    }

    /// <summary>Indices (B x fields, int64) -> latent codes (B x latent dims, int64 in [0, 2^bits)).</summary>
    public Tensor EncodeCodes(Tensor indices)
    {
        using var scope = NewDisposeScope();
        return QuantiseCodes(EncodeContinuous(indices)).MoveToOuterDisposeScope();
    }

    /// <summary>Latent codes -> logits (B x all classes).</summary>
    public Tensor DecodeCodes(Tensor codes)
    {
        using var scope = NewDisposeScope();
        return DecodeLogits(Dequantise(codes)).MoveToOuterDisposeScope();
    }

    private Tensor EncodeContinuous(Tensor indices)
    {
        var embedded = _embedding.forward(indices.add(_fieldOffsets.to(indices.device), _integralOne)).reshape(indices.shape[0], -1);
        return _encoderLatent.forward(nn.functional.relu(_encoderHidden.forward(embedded))).tanh();
    }

    private Tensor QuantiseCodes(Tensor latent) => latent.add(_one, _one).mul(_halfRange).round().clamp(_zero, _maxLevel).to(ScalarType.Int64);

    private Tensor Dequantise(Tensor codes) => codes.to(ScalarType.Float32).mul(_step).add(_minusOne, _one);

    private Tensor DecodeLogits(Tensor latent)
    {
        var hidden = nn.functional.relu(_decoderIn.forward(latent));
        hidden = nn.functional.relu(_decoderHidden.forward(hidden));
        return _heads.forward(hidden);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var scalar in new[] { _integralOne, _one, _minusOne, _zero, _halfRange, _maxLevel, _step })
                scalar.Dispose();
        }
        base.Dispose(disposing);
    }
}

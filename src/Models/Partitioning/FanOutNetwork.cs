using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EventPipeline.Models.Partitioning;

/// <summary>
/// The PPO actor-critic: one MLP shared by every heavy-key slot (features -> hidden -> hidden, tanh) with a categorical
/// head over <see cref="FanOutSchema.Actions"/> per slot, and a value head on the slots' hidden states averaged over the
/// occupied slots. Sharing the MLP makes the policy independent of slot order and of how many keys are heavy.
/// </summary>
public sealed class FanOutNetwork : nn.Module<Tensor, Tensor, (Tensor Logits, Tensor Value)>
{
    private readonly Linear _hidden1;
    private readonly Linear _hidden2;
    private readonly Linear _policy;
    private readonly Linear _value;

    public FanOutNetwork(int hidden) : base(nameof(FanOutNetwork))
    {
        Hidden = hidden;
        _hidden1 = nn.Linear(FanOutSchema.FeatureCount, hidden);
        _hidden2 = nn.Linear(hidden, hidden);
        _policy = nn.Linear(hidden, FanOutSchema.ActionCount);
        _value = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    public int Hidden { get; }

    /// <param name="slots">[batch, Slots, FeatureCount]</param>
    /// <param name="slotMask">[batch, Slots]: 1 where a heavy key is.</param>
    /// <returns>Logits [batch, Slots, ActionCount] (not masked by partition count) and the value [batch].</returns>
    public override (Tensor Logits, Tensor Value) forward(Tensor slots, Tensor slotMask)
    {
        var h = _hidden2.forward(_hidden1.forward(slots).tanh()).tanh();
        var mask = slotMask.unsqueeze(-1);
        var pooled = (h * mask).sum(1) / mask.sum(1).clamp_min(1);
        return (_policy.forward(h), _value.forward(pooled).squeeze(-1));
    }

    /// <summary>The weights as plain arrays (row-major [out, in]), in the order <see cref="FanOutInference"/> reads them.</summary>
    public float[][] ExportWeights()
    {
        using var noGrad = no_grad();
        return [.. new[] { _hidden1, _hidden2, _policy, _value }.SelectMany(l => new[] { l.weight!, l.bias! }).Select(p => p.cpu().data<float>().ToArray())];
    }
}

/// <summary>
/// <see cref="FanOutNetwork"/>'s forward pass in plain C# over copied weights, with buffers allocated once: the runtime
/// policy decides every 16k messages on the producing thread without touching libtorch, and the trainer's rollouts use
/// the same code, so what was trained is what runs. Not thread-safe.
/// </summary>
public sealed class FanOutInference
{
    private readonly float[] _w1, _b1, _w2, _b2, _wp, _bp, _wv, _bv;
    private readonly float[] _h1, _h2, _pooled;

    public FanOutInference(float[][] weights, int hidden)
    {
        if (weights.Length != 8)
            throw new ArgumentException($"expected 8 weight tensors, got {weights.Length}", nameof(weights));
        (_w1, _b1, _w2, _b2, _wp, _bp, _wv, _bv) = (weights[0], weights[1], weights[2], weights[3], weights[4], weights[5], weights[6], weights[7]);
        if (_w1.Length != hidden * FanOutSchema.FeatureCount || _w2.Length != hidden * hidden || _wp.Length != FanOutSchema.ActionCount * hidden || _wv.Length != hidden)
            throw new ArgumentException($"weight shapes do not match hidden size {hidden}, {FanOutSchema.FeatureCount} features, {FanOutSchema.ActionCount} actions", nameof(weights));
        Hidden = hidden;
        _h1 = new float[hidden];
        _h2 = new float[hidden];
        _pooled = new float[hidden];
    }

    public int Hidden { get; }

    /// <summary>
    /// Fills <paramref name="logits"/> (Slots x ActionCount) for the occupied slots and returns the value estimate.
    /// Logits of actions not allowed for <paramref name="partitionCount"/> are set to negative infinity.
    /// </summary>
    public float Forward(ReadOnlySpan<float> features, ReadOnlySpan<float> slotMask, int partitionCount, Span<float> logits)
    {
        int f = FanOutSchema.FeatureCount, a = FanOutSchema.ActionCount, occupied = 0;
        Array.Clear(_pooled);
        for (int slot = 0; slot < FanOutSchema.Slots; slot++)
        {
            if (slotMask[slot] == 0)
                continue;
            occupied++;
            Dense(_w1, _b1, features.Slice(slot * f, f), _h1, tanh: true);
            Dense(_w2, _b2, _h1, _h2, tanh: true);
            var row = logits.Slice(slot * a, a);
            Dense(_wp, _bp, _h2, row, tanh: false);
            for (int action = 0; action < a; action++)
            {
                if (!FanOutSchema.Allowed(action, partitionCount))
                    row[action] = float.NegativeInfinity;
            }
            for (int j = 0; j < Hidden; j++)
                _pooled[j] += _h2[j];
        }
        float value = _bv[0];
        for (int j = 0; j < Hidden; j++)
            value += _wv[j] * _pooled[j] / Math.Max(1, occupied);
        return value;
    }

    private static void Dense(float[] weight, float[] bias, ReadOnlySpan<float> input, Span<float> output, bool tanh)
    {
        for (int o = 0; o < output.Length; o++)
        {
            float sum = bias[o];
            var w = weight.AsSpan(o * input.Length, input.Length);
            for (int i = 0; i < input.Length; i++)
                sum += w[i] * input[i];
            output[o] = tanh ? MathF.Tanh(sum) : sum;
        }
    }
}

using TorchSharp;

namespace EventPipeline.Models;

/// <summary>
/// Where models run. A CUDA device when TorchSharp finds one, else the CPU (no CUDA build of TorchSharp is
/// referenced here, so in practice the CPU). Loading libtorch is the first call into <see cref="torch"/>; a
/// libLibTorchSharp.so that was not patched by Directory.Build.targets fails right here.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<torch.Device> LazyDevice = new(() => torch.cuda.is_available() ? torch.CUDA : torch.CPU);

    public static torch.Device Device => LazyDevice.Value;

    /// <summary>Sums torch.ones(2): 2 when libtorch loads and computes.</summary>
    public static float SelfCheck()
    {
        using var ones = torch.ones(2);
        return ones.sum().item<float>();
    }
}

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

    /// <summary>
    /// Caps libtorch's intra-op threads. In a worker the network shares two cores with Kafka, the other stages and often
    /// ClickHouse: libtorch's OpenMP pool (one thread per core, spinning between parallel regions) takes CPU they need.
    /// </summary>
    public static void LimitThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        torch.set_num_threads(threads);
    }

    /// <summary>Sums torch.ones(2): 2 when libtorch loads and computes.</summary>
    public static float SelfCheck()
    {
        using var ones = torch.ones(2);
        return ones.sum().item<float>();
    }
}

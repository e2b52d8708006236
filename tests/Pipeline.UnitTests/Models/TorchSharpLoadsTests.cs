using EventPipeline.Models;

namespace EventPipeline.Tests.Models;

public sealed class TorchSharpLoadsTests
{
    [Fact]
    public void Ones_sum_to_two_on_the_chosen_device() => Assert.Equal(2f, TorchRuntime.SelfCheck());
}

using EventPipeline.Models;
using EventPipeline.Bench.E2e;

namespace EventPipeline.Bench;

/// <summary>A figure over repetitions: the median and a bootstrap 95% interval of that median (2,000 resamples, fixed seed).</summary>
internal sealed record MedianInterval(double Median, double Low, double High, double[] PerRepetition)
{
    public static MedianInterval From(double[] values)
    {
        var random = new Random(17);
        var medians = Enumerable.Range(0, 2000)
            .Select(_ => SampleStatistics.Median(Enumerable.Range(0, values.Length).Select(_ => values[random.Next(values.Length)])))
            .Order().ToArray();
        return new MedianInterval(Math.Round(SampleStatistics.Median(values), 3), Math.Round(medians[50], 3), Math.Round(medians[1949], 3),
            [.. values.Select(v => Math.Round(v, 3))]);
    }
}

using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>Picks items with fixed relative weights; used by <see cref="EventGenerator"/> for realistic skew.</summary>
internal sealed class WeightedChoice<T>
{
    private readonly T[] _items;
    private readonly double[] _cumulative;

    public WeightedChoice(params ReadOnlySpan<(T Item, double Weight)> choices)
    {
        _items = new T[choices.Length];
        _cumulative = new double[choices.Length];
        double total = 0;
        for (int i = 0; i < choices.Length; i++)
        {
            _items[i] = choices[i].Item;
            total += choices[i].Weight;
            _cumulative[i] = total;
        }
    }

    public T Pick(Random random)
    {
        int index = Array.BinarySearch(_cumulative, random.NextDouble() * _cumulative[^1]);
        return _items[index < 0 ? ~index : index];
    }
}

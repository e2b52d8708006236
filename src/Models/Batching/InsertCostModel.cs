using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Models.Batching;

/// <summary>One measured insert: how many rows and bytes, how many inserts ran at once, how long it took.</summary>
public sealed record InsertMeasurement(int Rows, long Bytes, int Concurrency, double Seconds);

/// <summary>Prediction errors of an insert cost model on measured inserts, in seconds of insert time.</summary>
/// <param name="ShareWithinTolerance">Share of inserts predicted within <see cref="Tolerance"/> (relative) of the measured time.</param>
public sealed record InsertCostFitQuality(int Points, double MaeSeconds, double RmseSeconds, double R2, double ShareWithinTolerance)
{
    public const double Tolerance = 0.2;
}

/// <summary>
/// insert_seconds = a + b*rows + c*bytes + d*(concurrency-1)*rows, fitted by least squares on real inserts
/// (<c>pipeline calibrate</c>). The per-concurrency term says how much a row slows down for each other insert
/// running beside it. <see cref="ExtraLatencySeconds"/> is added by the simulator during congestion episodes.
/// </summary>
public sealed record InsertCostModel
{
    public const int SchemaVersion = 1;

    public int Version { get; init; } = SchemaVersion;
    public double A { get; init; }
    public double B { get; init; }
    public double C { get; init; }
    public double D { get; init; }
    public double R2 { get; init; }
    public double BytesPerRow { get; init; } = 200;
    public string ServerVersion { get; init; } = "";
    public string MeasuredAt { get; init; } = "";

    /// <summary>False only for the built-in guess; the simulator refuses it unless told otherwise.</summary>
    public bool Calibrated { get; init; }

    public IReadOnlyList<InsertMeasurement> Points { get; init; } = [];

    /// <summary>A plausible guess (about 300k rows/s in 100k batches on 2 cores), for tests and --uncalibrated.</summary>
    public static InsertCostModel Uncalibrated { get; } = new() { A = 0.02, B = 2.0e-6, C = 5.0e-9, D = 1.0e-6, BytesPerRow = 200 };

    /// <summary>The fitted law in one line, for the console.</summary>
    public string Law => $"insert_seconds = {A:G4} + {B:G4}*rows + {C:G4}*bytes + {D:G4}*(concurrency-1)*rows; R2 {R2:F4}";

    public double Predict(int rows, long bytes, int concurrency = 1) =>
        Math.Max(0.001, A + B * rows + C * bytes + D * Math.Max(0, concurrency - 1) * rows);

    public static InsertCostModel Fit(IReadOnlyList<InsertMeasurement> points, string serverVersion)
    {
        if (points.Count < 4)
            throw new ArgumentException($"need at least 4 measurements to fit 4 coefficients, got {points.Count}", nameof(points));
        // Scale the columns so the normal equations are well conditioned; a tiny ridge keeps b and c apart
        // when bytes per row hardly varies (rows and bytes are then almost collinear).
        double[] scale = [1, 1e-5, 1e-7, 1e-5];
        // Generated events hardly vary in size, so rows and bytes are collinear and c would be noise (even negative):
        // keep the bytes term only when bytes per row varies by more than 5% between measurements.
        var perRow = points.Select(p => (double)p.Bytes / Math.Max(1, p.Rows)).ToArray();
        var useBytes = perRow.Average() > 0 && Math.Sqrt(perRow.Average(x => Math.Pow(x - perRow.Average(), 2))) / perRow.Average() > 0.05;
        var rowsOf = points.Select(p => new[] { 1.0, p.Rows * scale[1], useBytes ? p.Bytes * scale[2] : 0, (p.Concurrency - 1) * p.Rows * scale[3] }).ToArray();
        var xtx = new double[4, 4];
        var xty = new double[4];
        for (var i = 0; i < points.Count; i++)
            for (var j = 0; j < 4; j++)
            {
                xty[j] += rowsOf[i][j] * points[i].Seconds;
                for (var k = 0; k < 4; k++)
                    xtx[j, k] += rowsOf[i][j] * rowsOf[i][k];
            }
        for (var j = 1; j < 4; j++)
            xtx[j, j] += 1e-6 * points.Count;
        var beta = Solve(xtx, xty);
        var model = new InsertCostModel
        {
            A = beta[0] * scale[0], B = beta[1] * scale[1], C = beta[2] * scale[2], D = beta[3] * scale[3],
            BytesPerRow = points.Sum(p => (double)p.Bytes) / Math.Max(1, points.Sum(p => (double)p.Rows)),
            ServerVersion = serverVersion, Calibrated = true, Points = points,
            MeasuredAt = DateTimeOffset.UtcNow.ToString("O"),
        };
        return model with { R2 = model.FitQuality(points).R2 };
    }

    /// <summary>How far the predicted insert times are from the measured ones (what ml_model_performance records).</summary>
    /// <exception cref="ArgumentException">No measurements.</exception>
    public InsertCostFitQuality FitQuality(IReadOnlyList<InsertMeasurement> points)
    {
        if (points.Count == 0)
            throw new ArgumentException("no measurements to compare the model with", nameof(points));
        var errors = points.Select(p => Predict(p.Rows, p.Bytes, p.Concurrency) - p.Seconds).ToArray();
        var mean = points.Average(p => p.Seconds);
        var ssTot = points.Sum(p => (p.Seconds - mean) * (p.Seconds - mean));
        var ssRes = errors.Sum(e => e * e);
        var withinTolerance = points.Where((p, i) => Math.Abs(errors[i]) <= InsertCostFitQuality.Tolerance * p.Seconds).Count();
        return new InsertCostFitQuality(points.Count, errors.Average(Math.Abs), Math.Sqrt(ssRes / points.Count),
            ssTot > 0 ? 1 - ssRes / ssTot : 1, (double)withinTolerance / points.Count);
    }

    private static double[] Solve(double[,] m, double[] v)
    {
        var n = v.Length;
        var a = (double[,])m.Clone();
        var b = (double[])v.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = Enumerable.Range(col, n - col).MaxBy(r => Math.Abs(a[r, col]));
            for (var k = 0; k < n; k++)
                (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
            (b[col], b[pivot]) = (b[pivot], b[col]);
            for (var r = col + 1; r < n; r++)
            {
                var f = a[r, col] / a[col, col];
                for (var k = col; k < n; k++)
                    a[r, k] -= f * a[col, k];
                b[r] -= f * b[col];
            }
        }
        var x = new double[n];
        for (var r = n - 1; r >= 0; r--)
        {
            var s = b[r];
            for (var k = r + 1; k < n; k++)
                s -= a[r, k] * x[k];
            x[r] = s / a[r, r];
        }
        return x;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static InsertCostModel Load(string path)
    {
        var model = JsonSerializer.Deserialize<InsertCostModel>(File.ReadAllText(path), Json)
                    ?? throw new InvalidDataException($"{path}: empty calibration file");
        if (model.Version != SchemaVersion)
            throw new InvalidDataException($"{path}: calibration schema version {model.Version}, this build reads {SchemaVersion}");
        if (!model.Calibrated)
            throw new InvalidDataException($"{path}: not a calibration (calibrated=false); run `pipeline calibrate`");
        return model;
    }
}

using Microsoft.Extensions.Logging;

namespace EventPipeline.Host;

/// <summary>
/// What /healthz (alive) and /readyz (ready) of a running process report, each with its reason when not OK: the one
/// health state of the worker and of <c>pipeline produce</c>. Thread-safe: stages report from their continuations.
/// </summary>
public sealed class HealthState
{
    private readonly Func<string?>? _notReadyNow;
    private string? _failure;
    private string? _notReady;

    /// <param name="notReadyReason">Why it is not ready until <see cref="SetReady"/> is called.</param>
    /// <param name="notReadyNow">A live readiness condition on top of <see cref="SetReady"/>: why it is not ready now,
    /// or null when it is; asked at each probe.</param>
    public HealthState(string notReadyReason = "starting", Func<string?>? notReadyNow = null)
    {
        _notReady = notReadyReason;
        _notReadyNow = notReadyNow;
    }

    /// <summary>
    /// Alive unless something failed for good: a faulted stage never recovers in place and its source would stay paused
    /// behind it, while a restart re-reads the uncommitted tail (nothing is lost).
    /// </summary>
    public bool IsHealthy => FailureReason is null;

    /// <summary>Why it is not alive (the first failure reported), or null.</summary>
    public string? FailureReason => Volatile.Read(ref _failure);

    public bool IsReady => NotReadyReason is null;

    /// <summary>Why it is not ready, or null: a failure first, then the reason given to <see cref="SetNotReady"/>, then the live condition.</summary>
    public string? NotReadyReason =>
        FailureReason is { } failure ? $"failed: {failure}" : Volatile.Read(ref _notReady) ?? _notReadyNow?.Invoke();

    /// <summary>Not alive any more; the first reason is the one reported.</summary>
    public void Fail(string reason) => Interlocked.CompareExchange(ref _failure, reason, null);

    /// <summary>Alive again (the worker starts its stages anew after a table change).</summary>
    public void Recover() => Volatile.Write(ref _failure, null);

    public void SetReady() => Volatile.Write(ref _notReady, null);

    public void SetNotReady(string reason) => Volatile.Write(ref _notReady, reason);

    /// <summary>Reports <paramref name="stage"/> failed (and logs it) once <paramref name="completion"/> faults.</summary>
    public void Watch(Task completion, string stage, ILogger logger) =>
        _ = completion.ContinueWith(task =>
        {
            var fault = task.Exception!.GetBaseException();
            Fail($"stage {stage} failed: {fault.Message}");
            logger.LogCritical(fault, "Stage {Stage} failed; /healthz reports it", stage);
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}

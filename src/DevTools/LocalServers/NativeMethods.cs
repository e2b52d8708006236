using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// P/Invoke surface of the dev infrastructure: librdkafka's mock cluster API, which Confluent.Kafka does not
/// wrap, and POSIX <c>kill(2)</c>, because <see cref="System.Diagnostics.Process"/> can only send SIGKILL.
/// </summary>
internal static class NativeMethods
{
    private const string RdKafka = "librdkafka";
    private const string LibC = "libc.so.6";

    internal const int SigKill = 9;
    internal const int SigTerm = 15;

    private static readonly Lock ResolverGate = new();
    private static bool _resolverRegistered;

    /// <summary>
    /// Routes <c>librdkafka</c> imports to the very file Confluent.Kafka loaded. Call before the first
    /// <c>rd_kafka_*</c> call.
    /// </summary>
    /// <remarks>
    /// A plain lookup of "librdkafka" fails on Debian 12: the package's generic linux-x64 build needs
    /// libsasl2.so.3, so Confluent.Kafka falls back to a differently named build (centos8-librdkafka.so).
    /// Binding to the same loaded copy also keeps one librdkafka per process. .NET allows one resolver per
    /// assembly, so nothing else in this assembly may call <see cref="NativeLibrary.SetDllImportResolver"/>.
    /// </remarks>
    internal static void EnsureRdKafkaResolver()
    {
        lock (ResolverGate)
        {
            if (_resolverRegistered)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
            _resolverRegistered = true;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == RdKafka ? NativeLibrary.Load(LoadedRdKafkaPath()) : IntPtr.Zero;

    private static string LoadedRdKafkaPath()
    {
        // Reading the version makes Confluent.Kafka pick and load its librdkafka if it has not yet.
        _ = Library.Version;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var pathStart = line.IndexOf('/', StringComparison.Ordinal);
            if (pathStart >= 0 && Path.GetFileName(line.AsSpan(pathStart)).Contains("librdkafka", StringComparison.Ordinal))
            {
                return line[pathStart..];
            }
        }

        throw new DllNotFoundException("Confluent.Kafka reports librdkafka loaded, but /proc/self/maps lists no librdkafka file.");
    }

    [DllImport(RdKafka)]
    internal static extern IntPtr rd_kafka_conf_new();

    [DllImport(RdKafka)]
    internal static extern int rd_kafka_conf_set(
        IntPtr conf,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value,
        byte[] errstr,
        UIntPtr errstrSize);

    [DllImport(RdKafka)]
    internal static extern void rd_kafka_conf_destroy(IntPtr conf);

    [DllImport(RdKafka)]
    internal static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);

    [DllImport(RdKafka)]
    internal static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(RdKafka)]
    internal static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [DllImport(RdKafka)]
    internal static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    [DllImport(RdKafka)]
    internal static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [DllImport(RdKafka)]
    internal static extern ErrorCode rd_kafka_mock_topic_create(
        IntPtr mcluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitionCount, int replicationFactor);

    [DllImport(RdKafka)]
    internal static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);

    [DllImport(RdKafka)]
    internal static extern void rd_kafka_mock_push_request_errors_array(
        IntPtr mcluster, short apiKey, UIntPtr count, ErrorCode[] errors);

    [DllImport(RdKafka)]
    internal static extern ErrorCode rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

    [DllImport(RdKafka)]
    internal static extern ErrorCode rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    [DllImport(RdKafka)]
    internal static extern ErrorCode rd_kafka_mock_partition_set_leader(
        IntPtr mcluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partition, int brokerId);

    [DllImport(LibC, SetLastError = true)]
    internal static extern int kill(int pid, int signal);
}

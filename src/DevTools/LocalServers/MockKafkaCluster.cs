using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using static EventPipeline.DevTools.LocalServers.NativeMethods;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// An in-process Kafka cluster: librdkafka's built-in mock brokers, speaking the real Kafka protocol over TCP
/// on loopback, so any Kafka client (Confluent.Kafka, kcat, ClickHouse's Kafka engine) can use it.
/// </summary>
/// <remarks>
/// <para>
/// It is not a real broker. Each partition keeps only about 100,000 messages / 5 MiB (hard-coded in librdkafka):
/// older messages are dropped, and a consumer that falls further behind has its offset reset and SILENTLY skips
/// data. Spread volume over many partitions (64+) and keep consumer lag bounded.
/// </para>
/// <para>
/// Other limits: transactions are accepted but not isolated (read_committed still returns aborted records);
/// ListConsumerGroups aborts the process and DescribeConsumerGroups/CreateTopics are unsupported, so create
/// topics with <see cref="CreateTopic"/> or auto-creation. Mock broker ids run from 1 to the broker count.
/// </para>
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    private const int ProducerHandleType = 0;
    private const int ConfOk = 0;

    private readonly Lock _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    private MockKafkaCluster(IntPtr handle, IntPtr cluster, int brokerCount, string bootstrapServers)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The <c>bootstrap.servers</c> list of all mock brokers (<c>127.0.0.1:PORT,...</c>).</summary>
    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    public static MockKafkaCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        EnsureRdKafkaResolver();

        // The mock cluster lives inside an rd_kafka_t handle; a bare producer handle is the cheapest owner.
        var conf = rd_kafka_conf_new();
        var errstr = new byte[512];

        // Level 4 (warning) hides the notice that this handle has no bootstrap.servers, which it never needs.
        if (rd_kafka_conf_set(conf, "log_level", "4", errstr, (UIntPtr)errstr.Length) != ConfOk)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set failed: {ErrorText(errstr)}");
        }

        var handle = rd_kafka_new(ProducerHandleType, conf, errstr, (UIntPtr)errstr.Length);
        if (handle == IntPtr.Zero)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {ErrorText(errstr)}");
        }

        var cluster = rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(handle);
            throw new InvalidOperationException($"rd_kafka_mock_cluster_new failed for {brokers} brokers.");
        }

        // The string belongs to the cluster: copy it, never free it.
        var bootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(cluster))!;
        return new MockKafkaCluster(handle, cluster, brokers, bootstrapServers);
    }

    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        lock (_gate)
        {
            ThrowIfError(rd_kafka_mock_topic_create(LiveCluster(), topic, partitions, replicationFactor), $"create topic '{topic}'");
        }
    }

    /// <summary>
    /// Sets <c>group.initial.rebalance.delay.ms</c> for the whole cluster: how long the first join of a new group
    /// waits for more members (librdkafka's mock default is 3 s).
    /// </summary>
    public void SetInitialRebalanceDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        lock (_gate)
        {
            rd_kafka_mock_group_initial_rebalance_delay_ms(LiveCluster(), checked((int)delay.TotalMilliseconds));
        }
    }

    /// <summary>
    /// Makes the next requests with this Kafka API key (0 = Produce, 1 = Fetch, 8 = OffsetCommit, ...) fail, one
    /// error per request, in order, whichever broker receives them.
    /// </summary>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        lock (_gate)
        {
            rd_kafka_mock_push_request_errors_array(LiveCluster(), apiKey, (UIntPtr)errors.Length, errors);
        }
    }

    /// <summary>Disconnects the broker's clients and makes it refuse new connections until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId)
    {
        lock (_gate)
        {
            ThrowIfError(rd_kafka_mock_broker_set_down(LiveCluster(), brokerId), $"set broker {brokerId} down");
        }
    }

    public void SetBrokerUp(int brokerId)
    {
        lock (_gate)
        {
            ThrowIfError(rd_kafka_mock_broker_set_up(LiveCluster(), brokerId), $"set broker {brokerId} up");
        }
    }

    /// <summary>Moves the partition's leadership; <paramref name="brokerId"/> -1 leaves the partition leaderless.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        lock (_gate)
        {
            ThrowIfError(
                rd_kafka_mock_partition_set_leader(LiveCluster(), topic, partition, brokerId),
                $"set leader of {topic}[{partition}] to broker {brokerId}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster == IntPtr.Zero)
            {
                return;
            }

            // The cluster was created on the handle and uses it until it is destroyed, so it must go first.
            rd_kafka_mock_cluster_destroy(_cluster);
            rd_kafka_destroy(_handle);
            _cluster = IntPtr.Zero;
            _handle = IntPtr.Zero;
        }
    }

    private IntPtr LiveCluster()
    {
        ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
        return _cluster;
    }

    private static string ErrorText(byte[] errstr) => Encoding.UTF8.GetString(errstr.AsSpan(0, Math.Max(0, Array.IndexOf(errstr, (byte)0))));

    private static void ThrowIfError(ErrorCode error, string action)
    {
        if (error != ErrorCode.NoError)
        {
            throw new KafkaException(new Error(error, $"Mock cluster could not {action}: {error}"));
        }
    }
}

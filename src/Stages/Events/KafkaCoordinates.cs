namespace EventPipeline.Stages.Events;

/// <summary>Where a message came from; rows may map these to columns (kafka_topic, kafka_partition, ...).</summary>
public readonly record struct KafkaCoordinates(string Topic, int Partition, long Offset, long TimestampMs);

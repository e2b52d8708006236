using System.Text;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit;
using static EventPipeline.Stages.Events.FieldValue;

namespace EventPipeline.Tests.ClickHouse;

/// <summary>
/// Inserts encoded rows into a real ClickHouse 18.16 over HTTP (FORMAT RowBinary) and reads them back as
/// TabSeparated, column by column. 18.16 has no DateTime64 or Bool: those are covered by byte-level tests.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public class ClickHouseRoundTripTests(ClickHouseFixture clickHouse)
{
    private const string Columns = """
        event_id UUID,
        app_id LowCardinality(String),
        user_id String,
        event_name String,
        event_timestamp DateTime,
        event_date Date,
        event_time DateTime('Asia/Tokyo'),
        device_id FixedString(8),
        platform Enum8('ios' = 1, 'android' = 2),
        os_version Nullable(String),
        app_version LowCardinality(Nullable(String)),
        country FixedString(2),
        revenue Nullable(Float64),
        properties String,
        kafka_topic LowCardinality(String),
        kafka_partition Int32,
        kafka_offset UInt64,
        kafka_timestamp DateTime,
        p_int8 Int8, p_int16 Int16, p_int32 Int32, p_int64 Int64,
        p_uint8 UInt8, p_uint16 UInt16, p_uint32 UInt32, p_uint64 UInt64,
        p_float32 Float32, p_float64 Float64,
        p_dec32 Decimal32(2), p_dec64 Decimal64(6), p_dec128 Decimal128(10), p_decimal Decimal(20, 3),
        p_enum16 Enum16('a\'x' = -300, 'b,c' = 1000),
        p_nullable_int Nullable(Int32),
        p_nullable_fs Nullable(FixedString(4)),
        p_uuid UUID,
        p_date Date,
        p_datetime DateTime,
        p_tags Array(String),
        p_lc_tags Array(LowCardinality(String)),
        p_nums Array(Nullable(Int16)),
        p_nested Array(Array(String)),
        materialized_day Date MATERIALIZED toDate(event_timestamp),
        alias_user String ALIAS user_id,
        inserted_marker UInt32 DEFAULT 42
        """;

    private static readonly (AnalyticsEvent Event, Dictionary<string, FieldValue> Properties, Dictionary<string, string?> Expected)[] Rows =
    [
        (
            new AnalyticsEvent
            {
                EventId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), AppId = "com.example.app", UserId = "user-1",
                EventName = "purchase", EventTimestampMs = 1700000000123, DeviceId = "device01", Platform = "ios",
                OsVersion = "17.1", AppVersion = "2.0.0", Country = "DE", Revenue = 1.99, PropertiesJson = "{\"note\":\"tab\there\"}",
            },
            new()
            {
                ["p_int8"] = FromInt64(-128), ["p_int16"] = FromString("32767"), ["p_int32"] = FromInt64(int.MinValue),
                ["p_int64"] = FromInt64(long.MinValue), ["p_uint8"] = FromInt64(255), ["p_uint16"] = FromFloat64(65535),
                ["p_uint32"] = FromInt64(uint.MaxValue), ["p_uint64"] = FromString("18446744073709551615"),
                ["p_float32"] = FromFloat64(1.5), ["p_float64"] = FromFloat64(0.1),
                ["p_dec32"] = FromString("1234567.89"), ["p_dec64"] = FromString("-123456789012.123456"),
                ["p_dec128"] = FromString("-1234567890123456789012345678.0123456789"), ["p_decimal"] = FromFloat64(1.005),
                ["p_enum16"] = FromString("a'x"), ["p_nullable_int"] = FromInt64(7), ["p_nullable_fs"] = FromString("ab"),
                ["p_uuid"] = FromString("ffffffff-0000-0000-0000-000000000001"), ["p_date"] = FromString("2100-02-28"),
                ["p_datetime"] = FromString("2023-11-15T00:13:20+02:00"), ["p_tags"] = FromStringArray(["a", "b c"]),
                ["p_lc_tags"] = FromStringArray(["x", "x", "y"]), ["p_nums"] = FromStringArray([null!, "5", "-32768"]),
            },
            new()
            {
                ["event_id"] = "00112233-4455-6677-8899-aabbccddeeff", ["app_id"] = "com.example.app", ["user_id"] = "user-1",
                ["event_name"] = "purchase", ["event_timestamp"] = "2023-11-14 22:13:20", ["event_date"] = "2023-11-14",
                ["event_time"] = "2023-11-15 07:13:20", ["device_id"] = "device01", ["platform"] = "ios", ["os_version"] = "17.1",
                ["app_version"] = "2.0.0", ["country"] = "DE", ["revenue"] = "1.99", ["properties"] = "{\"note\":\"tab\there\"}",
                ["kafka_topic"] = "events", ["kafka_partition"] = "3", ["kafka_offset"] = "10", ["kafka_timestamp"] = "2023-11-14 22:13:21",
                ["p_int8"] = "-128", ["p_int16"] = "32767", ["p_int32"] = "-2147483648", ["p_int64"] = "-9223372036854775808",
                ["p_uint8"] = "255", ["p_uint16"] = "65535", ["p_uint32"] = "4294967295", ["p_uint64"] = "18446744073709551615",
                ["p_float32"] = "1.5", ["p_float64"] = "0.1",
                ["p_dec32"] = "1234567.89", ["p_dec64"] = "-123456789012.123456",
                ["p_dec128"] = "-1234567890123456789012345678.0123456789", ["p_decimal"] = "1.005",
                ["p_enum16"] = "a'x", ["p_nullable_int"] = "7", ["p_nullable_fs"] = "ab\0\0",
                ["p_uuid"] = "ffffffff-0000-0000-0000-000000000001", ["p_date"] = "2100-02-28", ["p_datetime"] = "2023-11-14 22:13:20",
                ["p_tags"] = "['a','b c']", ["p_lc_tags"] = "['x','x','y']", ["p_nums"] = "[NULL,5,-32768]", ["p_nested"] = "[]",
                ["materialized_day"] = "2023-11-14", ["alias_user"] = "user-1", ["inserted_marker"] = "42",
            }
        ),
        (
            new AnalyticsEvent
            {
                EventId = Guid.Parse("0f0e0d0c-0b0a-0908-0706-050403020100"), AppId = "a", EventName = "open",
                EventTimestampMs = 86_400_000, Platform = "android",
            },
            new() { ["p_enum16"] = FromInt64(1000) },
            new()
            {
                ["event_id"] = "0f0e0d0c-0b0a-0908-0706-050403020100", ["app_id"] = "a", ["user_id"] = "",
                ["event_name"] = "open", ["event_timestamp"] = "1970-01-02 00:00:00", ["event_date"] = "1970-01-02",
                ["event_time"] = "1970-01-02 09:00:00", ["device_id"] = "\0\0\0\0\0\0\0\0", ["platform"] = "android", ["os_version"] = "",
                ["app_version"] = "", ["country"] = "\0\0", ["revenue"] = null, ["properties"] = "",
                ["kafka_topic"] = "events", ["kafka_partition"] = "3", ["kafka_offset"] = "11", ["kafka_timestamp"] = "2023-11-14 22:13:21",
                ["p_int8"] = "0", ["p_int16"] = "0", ["p_int32"] = "0", ["p_int64"] = "0",
                ["p_uint8"] = "0", ["p_uint16"] = "0", ["p_uint32"] = "0", ["p_uint64"] = "0",
                ["p_float32"] = "0", ["p_float64"] = "0",
                ["p_dec32"] = "0.00", ["p_dec64"] = "0.000000", ["p_dec128"] = "0.0000000000", ["p_decimal"] = "0.000",
                ["p_enum16"] = "b,c", ["p_nullable_int"] = null, ["p_nullable_fs"] = null,
                ["p_uuid"] = "00000000-0000-0000-0000-000000000000", ["p_date"] = "0000-00-00", ["p_datetime"] = "0000-00-00 00:00:00",
                ["p_tags"] = "[]", ["p_lc_tags"] = "[]", ["p_nums"] = "[]", ["p_nested"] = "[]",
                ["materialized_day"] = "1970-01-02", ["alias_user"] = "", ["inserted_marker"] = "42",
            }
        ),
        (
            new AnalyticsEvent
            {
                EventId = Guid.Parse("a0a1a2a3-b0b1-c0c1-d0d1-e0e1e2e3e4e5"), AppId = "b", UserId = "ü-ñ", EventName = "level_up",
                EventTimestampMs = 1893456000000, DeviceId = "dev", Platform = "ios", Country = "FR", Revenue = -0.5,
            },
            new()
            {
                ["p_int64"] = FromFloat64(-9007199254740992), ["p_float32"] = FromInt64(16777217), ["p_float64"] = FromString("-1e300"),
                ["p_dec32"] = FromInt64(-9999999), ["p_dec64"] = FromFloat64(-0.0000005), ["p_decimal"] = FromString("99999999999999999.999"),
                ["p_enum16"] = FromString("b,c"), ["p_uuid"] = FromUuid(Guid.Parse("a0a1a2a3-b0b1-c0c1-d0d1-e0e1e2e3e4e5")),
                ["p_date"] = FromTimestampMs(1893456000000), ["p_datetime"] = FromInt64(2000000000), ["p_nullable_fs"] = FromString("abcd"),
                ["p_nested"] = FromStringArray([null!, null!]),
            },
            new()
            {
                ["event_id"] = "a0a1a2a3-b0b1-c0c1-d0d1-e0e1e2e3e4e5", ["app_id"] = "b", ["user_id"] = "ü-ñ",
                ["event_name"] = "level_up", ["event_timestamp"] = "2030-01-01 00:00:00", ["event_date"] = "2030-01-01",
                ["event_time"] = "2030-01-01 09:00:00", ["device_id"] = "dev\0\0\0\0\0", ["platform"] = "ios", ["os_version"] = "",
                ["app_version"] = "", ["country"] = "FR", ["revenue"] = "-0.5", ["properties"] = "",
                ["kafka_topic"] = "events", ["kafka_partition"] = "3", ["kafka_offset"] = "13", ["kafka_timestamp"] = "2023-11-14 22:13:21",
                ["p_int8"] = "0", ["p_int16"] = "0", ["p_int32"] = "0", ["p_int64"] = "-9007199254740992",
                ["p_uint8"] = "0", ["p_uint16"] = "0", ["p_uint32"] = "0", ["p_uint64"] = "0",
                ["p_float32"] = "16777216", ["p_float64"] = "-1e300",
                ["p_dec32"] = "-9999999.00", ["p_dec64"] = "-0.000001", ["p_dec128"] = "0.0000000000", ["p_decimal"] = "99999999999999999.999",
                ["p_enum16"] = "b,c", ["p_nullable_int"] = null, ["p_nullable_fs"] = "abcd",
                ["p_uuid"] = "a0a1a2a3-b0b1-c0c1-d0d1-e0e1e2e3e4e5", ["p_date"] = "2030-01-01", ["p_datetime"] = "2033-05-18 03:33:20",
                ["p_tags"] = "[]", ["p_lc_tags"] = "[]", ["p_nums"] = "[]", ["p_nested"] = "[[],[]]",
                ["materialized_day"] = "2030-01-01", ["alias_user"] = "ü-ñ", ["inserted_marker"] = "42",
            }
        ),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rows_sent_twice_as_RowBinary_read_back_equal_column_by_column(bool gzip)
    {
        var server = clickHouse.Server;
        var table = "events_" + Guid.NewGuid().ToString("N");
        await server.QueryAsync($"CREATE TABLE default.{table} ({Columns}) ENGINE = MergeTree() ORDER BY event_id");
        var mapping = TableMapping.Create(TableSchema.ParseDescribe(await server.QueryAsync($"DESCRIBE TABLE default.{table} FORMAT TabSeparated")));
        Assert.DoesNotContain(mapping.Columns, c => c.Name is "materialized_day" or "alias_user" or "inserted_marker");
        var encoder = new EventRowEncoder(mapping);

        // Small segments so that rows straddle segment boundaries on the wire too.
        using var buffer = new PooledBufferWriter(minSegmentSize: 64, maxSegmentSize: 128);
        Encode(encoder, buffer, Rows[0], offset: 10);
        Encode(encoder, buffer, Rows[1], offset: 11);
        var bad = Rows[0] with { Properties = new(Rows[0].Properties) { ["p_int8"] = FromInt64(200) } };
        Assert.False(encoder.TryEncode(buffer, WithProperties(mapping, bad.Event, bad.Properties), new KafkaCoordinates("events", 3, 12, 0), out var error));
        Assert.Equal("column 'p_int8' Int8: Int64 200 is out of range [-128, 127]", error);
        Encode(encoder, buffer, Rows[2], offset: 13);

        // The same content twice, as a retry would send it.
        using var content = buffer.CreateHttpContent(gzip);
        var insert = mapping.BuildInsertQuery("default", table);
        await server.InsertAsync(insert, content);
        await server.InsertAsync(insert, content);

        var names = Rows[0].Expected.Keys.ToArray();
        var select = $"SELECT {string.Join(", ", names.Select(ClickHouseIdentifier.Quote))} FROM default.{table} ORDER BY kafka_offset FORMAT TabSeparated";
        var actual = ParseTabSeparated(await server.QueryAsync(select));
        Assert.Equal(2 * Rows.Length, actual.Count);
        for (var i = 0; i < actual.Count; i++)
        {
            var expected = Rows[i / 2].Expected;
            Assert.Equal(names.Select(n => $"{n}={expected[n] ?? "NULL"}"), names.Select((n, c) => $"{n}={actual[i][c] ?? "NULL"}"));
        }
    }

    private static void Encode(EventRowEncoder encoder, PooledBufferWriter buffer,
        (AnalyticsEvent Event, Dictionary<string, FieldValue> Properties, Dictionary<string, string?> Expected) row, long offset)
    {
        var e = WithProperties(encoder.Mapping, row.Event, row.Properties);
        Assert.True(encoder.TryEncode(buffer, e, new KafkaCoordinates("events", 3, offset, 1700000001000), out var error), error);
    }

    /// <summary>Fills PropertyValues in the mapping's order, as the decoder does; absent properties stay null.</summary>
    private static AnalyticsEvent WithProperties(TableMapping mapping, AnalyticsEvent e, Dictionary<string, FieldValue> properties)
    {
        e.PropertyValues = mapping.PropertyColumns.Select(name => properties.GetValueOrDefault(name)).ToArray();
        return e;
    }

    /// <summary>Rows of unescaped fields; \N is null.</summary>
    private static List<string?[]> ParseTabSeparated(string tsv) =>
        tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t').Select(f => f == "\\N" ? null : Unescape(f)).ToArray())
            .ToList();

    private static string Unescape(string field)
    {
        var result = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\')
            {
                result.Append(field[i]);
                continue;
            }
            result.Append(field[++i] switch { 't' => '\t', 'n' => '\n', '0' => '\0', 'r' => '\r', var c => c });
        }
        return result.ToString();
    }
}

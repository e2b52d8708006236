using System.Net;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>What a server error says about the request that caused it, and so what the sink does about it.</summary>
public enum ClickHouseErrorClass
{
    /// <summary>The server is busy, restarting or unreachable behind it: the same request may succeed later. Retried.</summary>
    Transient,

    /// <summary>Some row's bytes cannot be read: retrying cannot help, splitting the batch finds the row.</summary>
    Data,

    /// <summary>
    /// The request can never succeed as configured (an unknown setting, a missing table, refused credentials, no
    /// rights): retrying would spin forever behind a green health check, so the worker stops and says why.
    /// </summary>
    Permanent,
}

/// <summary>Classes ClickHouse's error codes (and, for codes it does not know, HTTP statuses).</summary>
public static class ClickHouseErrors
{
    private static readonly HashSet<int> DataCodes =
    [
        6, // CANNOT_PARSE_TEXT
        26, // CANNOT_PARSE_QUOTED_STRING
        27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
        32, // ATTEMPT_TO_READ_AFTER_EOF
        33, // CANNOT_READ_ALL_DATA
        38, // CANNOT_PARSE_DATE
        41, // CANNOT_PARSE_DATETIME
        53, // TYPE_MISMATCH
        69, // ARGUMENT_OUT_OF_BOUND
        70, // CANNOT_CONVERT_TYPE
        72, // CANNOT_PARSE_NUMBER
        117, // INCORRECT_DATA
        131, // TOO_LARGE_STRING_SIZE
        395, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO: a throwIf() guard in a column expression rejected the row
    ];

    private static readonly HashSet<int> PermanentCodes =
    [
        8, // THERE_IS_NO_COLUMN
        10, // NOT_FOUND_COLUMN_IN_BLOCK
        16, // NO_SUCH_COLUMN_IN_TABLE
        47, // UNKNOWN_IDENTIFIER
        48, // NOT_IMPLEMENTED
        60, // UNKNOWN_TABLE
        62, // SYNTAX_ERROR
        73, // UNKNOWN_FORMAT
        81, // UNKNOWN_DATABASE
        115, // UNKNOWN_SETTING
        164, // READONLY: the user may not write
        192, // UNKNOWN_USER
        193, // WRONG_PASSWORD
        194, // REQUIRED_PASSWORD
        195, // IP_ADDRESS_NOT_ALLOWED
        497, // ACCESS_DENIED
        516, // AUTHENTICATION_FAILED
    ];

    public static ClickHouseErrorClass Classify(ClickHouseServerException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (DataCodes.Contains(error.Code))
            return ClickHouseErrorClass.Data;
        if (PermanentCodes.Contains(error.Code))
            return ClickHouseErrorClass.Permanent;
        // Codes not listed (memory limits, too many parts, a replica without ZooKeeper, timeouts inside a cluster)
        // come with 5xx and are worth retrying; a 4xx without a known code means the request itself is wrong.
        var status = (int)error.Status;
        return status is >= 400 and < 500 && error.Status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            ? ClickHouseErrorClass.Permanent
            : ClickHouseErrorClass.Transient;
    }
}

/// <summary>ClickHouse refused an insert in a way no retry can fix; the worker stops with this message.</summary>
public sealed class PermanentInsertException(string message, Exception? inner = null) : Exception(message, inner);

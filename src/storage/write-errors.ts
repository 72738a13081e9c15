/**
 * What kind of failure a sink write met, so retry logic asks one question:
 *
 * - `retriable`: the same write may succeed later (the network, a timeout,
 *   ClickHouse overloaded, restarting or not migrated yet, a broker without
 *   a leader). Retried with backoff while the partition is ours.
 * - `deterministic`: the data itself is refused (too many partitions for one
 *   insert block, a value the column cannot take). Retrying the same write
 *   fails forever; the insert is split to find the rows responsible
 *   (insert-rows.ts), and only those are moved aside.
 *
 * An error that says it (kafkajs' `retriable`) is believed. A ClickHouse
 * error is deterministic only for the codes below; anything unknown is
 * retriable, because moving valid rows aside is worse than waiting.
 */
export type WriteErrorClass = 'retriable' | 'deterministic';

/** ClickHouse error codes that mean "these rows can never go into this table". */
const REFUSED_DATA_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DONT_MATCH
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  376, // CANNOT_PARSE_UUID
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
]);

/** TOO_MANY_PARTS (252) is also ClickHouse's overload signal; only this message means the insert itself is at fault. */
const TOO_MANY_PARTITIONS = /too many partitions for (a )?single insert block/i;

function clickHouseCode(error: Error): number | undefined {
  const code = (error as { code?: unknown }).code;
  // @clickhouse/client's ClickHouseError carries the server's numeric code as text; Node's own errors carry names (ECONNRESET).
  return typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
}

export function classifyWriteError(error: unknown): WriteErrorClass {
  if (!(error instanceof Error)) return 'retriable';
  const retriable = (error as { retriable?: unknown }).retriable;
  if (typeof retriable === 'boolean') {
    // kafkajs gives up on a retriable error (the broker down) with a non-retriable wrapper: the cause decides.
    const cause = (error as { originalError?: unknown }).originalError;
    if (!retriable && cause instanceof Error) return classifyWriteError(cause);
    return retriable ? 'retriable' : 'deterministic';
  }
  const code = clickHouseCode(error);
  if (code === undefined) return 'retriable';
  if (code === 252) return TOO_MANY_PARTITIONS.test(error.message) ? 'deterministic' : 'retriable';
  return REFUSED_DATA_CODES.has(code) ? 'deterministic' : 'retriable';
}

/** A row a table refused on its own, with ClickHouse's reason. */
export interface RefusedRow<T> {
  row: T;
  reason: string;
}

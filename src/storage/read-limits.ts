/**
 * What one API request may use of ClickHouse: the settings every query of
 * the API's client carries (they are the client's defaults, so a read added
 * later is bounded without anyone remembering to pass them), and how long
 * the client waits for an answer. A query over a limit fails with
 * ClickHouse's error, which the API answers as 504 `query_timeout` or 422
 * `query_too_large` (src/api/errors.ts).
 */
import type { ClickHouseSettings } from '@clickhouse/client';

export const READ_LIMITS = {
  max_execution_time: 10,
  timeout_overflow_mode: 'throw',
  max_rows_to_read: '100000000',
  read_overflow_mode: 'throw',
  // The largest answer a route makes is a 1m series over 2 days (2,880 rows).
  max_result_rows: '100000',
  result_overflow_mode: 'throw',
  // Per query; sorting a page of raw events or grouping a day's users needs a fraction of it.
  max_memory_usage: String(1024 ** 3),
} as const satisfies ClickHouseSettings;

/**
 * The client gives up 5 s after ClickHouse should have stopped the query,
 * and well before the HTTP server's request timeout (30 s by default).
 */
export const READ_REQUEST_TIMEOUT_MS = (READ_LIMITS.max_execution_time + 5) * 1000;

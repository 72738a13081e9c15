/**
 * The worker's inserts: rows encoded as one Native block (native-format.ts)
 * and sent as the body of one INSERT per table. @clickhouse/client's `insert`
 * only encodes text formats, so the body goes through `exec`.
 */
import { Readable } from 'node:stream';
import { drainStream, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { NativeTable } from './native-format.js';

export async function insertRows<T>(
  client: ClickHouseClient,
  table: string,
  format: NativeTable<T>,
  rows: readonly T[],
  settings?: ClickHouseSettings,
): Promise<void> {
  if (rows.length === 0) return;
  const { stream } = await client.exec({
    query: `INSERT INTO ${table} (${format.columns.join(', ')}) FORMAT Native`,
    // One chunk: the whole body, already in memory.
    values: Readable.from([format.encode(rows)]),
    ...(settings ? { clickhouse_settings: settings } : {}),
  });
  await drainStream(stream);
}

/**
 * The worker's inserts: rows encoded as one Native block (native-format.ts)
 * and sent as the body of one INSERT per table. @clickhouse/client's `insert`
 * only encodes text formats, so the body goes through `exec`.
 *
 * An insert the table refuses for its data (write-errors.ts: deterministic)
 * is split in halves, and each half inserted again, down to the single rows
 * responsible: those are returned, the rest is stored, so one bad value or
 * a batch spanning too many partitions never stalls a partition. A
 * retriable error is thrown for the caller to retry the whole write; the
 * halves already stored then carry deduplication tokens derived from the
 * caller's (`<token>/<from>-<to>`, row indices), so a retry that splits the
 * same way stores nothing twice.
 *
 * Rows a retry computes anew (window changes, whose retry looks up what is
 * stored) are named by their content instead (`contentToken`): each block
 * sent gets `<contentToken>:<digest of its bytes>`, so ClickHouse drops a
 * block only when the very same rows already landed, never different rows
 * that happen to have the same position in a retry.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { drainStream, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { NativeTable } from './native-format.js';
import { classifyWriteError, type RefusedRow } from './write-errors.js';

export interface InsertOptions {
  settings?: ClickHouseSettings;
  /** insert_deduplication_token of the whole insert; its halves get tokens derived from it. */
  deduplicationToken?: string;
  /** Instead: every block sent is named by this and a digest of its content. */
  contentToken?: string;
}

async function sendBlock<T>(
  client: ClickHouseClient,
  table: string,
  format: NativeTable<T>,
  rows: readonly T[],
  settings: ClickHouseSettings | undefined,
  contentToken: string | undefined,
) {
  const body = format.encode(rows);
  const withToken =
    contentToken === undefined ? settings : { ...settings, insert_deduplication_token: `${contentToken}:${createHash('sha1').update(body).digest('base64url')}` };
  const { stream } = await client.exec({
    query: `INSERT INTO ${table} (${format.columns.join(', ')}) FORMAT Native`,
    // One chunk: the whole body, already in memory.
    values: Readable.from([body]),
    ...(withToken ? { clickhouse_settings: withToken } : {}),
  });
  await drainStream(stream);
}

/** Inserts the rows; returns those the table refused on their own (see above). */
export async function insertRows<T>(
  client: ClickHouseClient,
  table: string,
  format: NativeTable<T>,
  rows: readonly T[],
  options: InsertOptions = {},
): Promise<RefusedRow<T>[]> {
  const refused: RefusedRow<T>[] = [];
  async function insert(from: number, to: number, token: string | undefined): Promise<void> {
    const settings = token === undefined ? options.settings : { ...options.settings, insert_deduplication_token: token };
    try {
      await sendBlock(client, table, format, from === 0 && to === rows.length ? rows : rows.slice(from, to), settings, options.contentToken);
    } catch (error) {
      if (classifyWriteError(error) === 'retriable') throw error;
      if (to - from === 1) {
        refused.push({ row: rows[from]!, reason: error instanceof Error ? error.message : String(error) });
        return;
      }
      const mid = from + Math.floor((to - from) / 2);
      await insert(from, mid, options.deduplicationToken && `${options.deduplicationToken}/${from}-${mid}`);
      await insert(mid, to, options.deduplicationToken && `${options.deduplicationToken}/${mid}-${to}`);
    }
  }
  if (rows.length > 0) await insert(0, rows.length, options.deduplicationToken);
  return refused;
}

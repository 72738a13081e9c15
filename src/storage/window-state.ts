/**
 * Checkpoints of open windows, and of closed ones kept for late corrections
 * (migrations 0003, 0004): written after each round, read by a partition's
 * new owner.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Checkpoint, WindowCheckpoint } from '../stream/window-store.js';
import { columnsOf, insertRows } from './insert-rows.js';

interface StateRow {
  topology: string;
  partition: number;
  key: string;
  window_start: number;
  window_end: number;
  aggregate: string;
  closed: number;
  emitted: number;
  emitted_at: number | null;
  through_offset: string;
  version: string;
  is_deleted: number;
}

const STATE_COLUMNS = columnsOf<StateRow>({
  topology: true,
  partition: true,
  key: true,
  window_start: true,
  window_end: true,
  aggregate: true,
  closed: true,
  emitted: true,
  emitted_at: true,
  through_offset: true,
  version: true,
  is_deleted: true,
});

/**
 * What changed in one topology's windows of one partition, as of `version`:
 * the offset after the batch, which only grows within a partition.
 */
export interface PartitionCheckpoint<A> {
  topology: string;
  partition: number;
  version: bigint;
  checkpoint: Checkpoint<A>;
}

/** One insert, so all or nothing, for every topology and partition of a round. */
export async function writeCheckpoints<A>(client: ClickHouseClient, checkpoints: PartitionCheckpoint<A>[]): Promise<void> {
  // Rows as whole literals, not spreads: every open window that changed is written after every batch.
  const values: StateRow[] = checkpoints.flatMap(({ topology, partition, version, checkpoint }) => {
    const versionText = version.toString();
    return [
      ...checkpoint.open.map((w) => ({
        topology,
        partition,
        version: versionText,
        key: w.key,
        window_start: w.window.start,
        window_end: w.window.end,
        aggregate: JSON.stringify(w.aggregate),
        closed: w.closed ? 1 : 0,
        emitted: w.emitted ? 1 : 0,
        emitted_at: w.emittedAt ?? null,
        through_offset: w.throughOffset.toString(),
        is_deleted: 0,
      })),
      ...checkpoint.gone.map((g) => ({
        topology,
        partition,
        version: versionText,
        key: g.key,
        window_start: g.start,
        window_end: g.start,
        aggregate: '',
        closed: 0,
        emitted: 0,
        emitted_at: null,
        through_offset: '0',
        is_deleted: 1,
      })),
    ];
  });
  await insertRows(client, 'window_state', STATE_COLUMNS, values);
}

export async function loadCheckpoint<A>(client: ClickHouseClient, topology: string, partition: number): Promise<WindowCheckpoint<A>[]> {
  const result = await client.query({
    query: `SELECT key, window_start, window_end, aggregate, closed, emitted, emitted_at, toString(through_offset) AS through_offset
            FROM window_state FINAL
            WHERE topology = {topology:String} AND partition = {partition:UInt32}`,
    query_params: { topology, partition },
    format: 'JSONEachRow',
    // Int64 as numbers: window bounds are epoch milliseconds, well inside 2^53.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await result.json<Pick<StateRow, 'key' | 'window_start' | 'window_end' | 'aggregate' | 'closed' | 'emitted' | 'emitted_at' | 'through_offset'>>();
  return rows.map((row) => ({
    key: row.key,
    window: { start: row.window_start, end: row.window_end },
    aggregate: JSON.parse(row.aggregate) as A,
    closed: row.closed === 1,
    emitted: row.emitted === 1,
    emittedAt: row.emitted_at ?? undefined,
    throughOffset: BigInt(row.through_offset),
  }));
}

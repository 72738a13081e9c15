/**
 * Checkpoints of open windows, and of closed ones kept for late corrections
 * (migrations 0003, 0004): written after each round, read by a partition's
 * new owner.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Checkpoint, WindowCheckpoint } from '../stream/window-store.js';
import { insertRows } from './insert-rows.js';
import { ch, nativeTable } from './native-format.js';

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
  through_offset: bigint;
  version: bigint;
  is_deleted: number;
}

const WINDOW_STATE = nativeTable<StateRow>({
  topology: ch.string,
  partition: ch.uint32,
  key: ch.string,
  window_start: ch.int64,
  window_end: ch.int64,
  aggregate: ch.string,
  closed: ch.uint8,
  emitted: ch.uint8,
  emitted_at: ch.nullable(ch.int64),
  through_offset: ch.uint64Big,
  version: ch.uint64Big,
  is_deleted: ch.uint8,
});

/** A checkpointed window as `loadCheckpoint` reads it: the offset as text (UInt64). */
type CheckpointRow = Pick<StateRow, 'key' | 'window_start' | 'window_end' | 'aggregate' | 'closed' | 'emitted' | 'emitted_at'> & { through_offset: string };

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
export async function writeCheckpoints<A>(client: ClickHouseClient, checkpoints: PartitionCheckpoint<A>[]): Promise<number> {
  // Rows as whole literals, not spreads: every open window that changed is written after every batch.
  const values: StateRow[] = checkpoints.flatMap(({ topology, partition, version, checkpoint }) => {
    return [
      ...checkpoint.open.map((w) => ({
        topology,
        partition,
        version,
        key: w.key,
        window_start: w.window.start,
        window_end: w.window.end,
        aggregate: JSON.stringify(w.aggregate),
        closed: w.closed ? 1 : 0,
        emitted: w.emitted ? 1 : 0,
        emitted_at: w.emittedAt ?? null,
        through_offset: w.throughOffset,
        is_deleted: 0,
      })),
      ...checkpoint.gone.map((g) => ({
        topology,
        partition,
        version,
        key: g.key,
        window_start: g.start,
        window_end: g.start,
        aggregate: '',
        closed: 0,
        emitted: 0,
        emitted_at: null,
        through_offset: 0n,
        is_deleted: 1,
      })),
    ];
  });
  return (await insertRows(client, 'window_state', WINDOW_STATE, values)).length;
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
  const rows = await result.json<CheckpointRow>();
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

/**
 * Inserts the table refuses for their data, against the real engine: split
 * down to the rows responsible, the rest stored, and a retry of the same
 * rows with the same token stores nothing twice.
 */
import { describe, expect, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import { insertRows } from './insert-rows.js';
import { ch, nativeTable } from './native-format.js';

const clickhouse = migratedClickHouse();
const ROWS = nativeTable<{ month: number; x: number }>({ month: ch.uint32, x: ch.uint32 });

async function table(name: string) {
  await clickhouse().command({
    query: `CREATE TABLE ${name} (month UInt32, x UInt32, CONSTRAINT small CHECK x < 1000)
            ENGINE = MergeTree PARTITION BY month ORDER BY x SETTINGS non_replicated_deduplication_window = 100`,
  });
}

async function stored(name: string): Promise<number[]> {
  const rows = await (await clickhouse().query({ query: `SELECT x FROM ${name} ORDER BY x`, format: 'JSONEachRow' })).json<{ x: number }>();
  return rows.map((r) => r.x);
}

describe('insertRows', () => {
  it('returns only the rows the table refuses on their own, with the reason, and stores the rest', async () => {
    await table('refusing');
    const rows = [...Array.from({ length: 20 }, (_, x) => ({ month: 1, x })), { month: 1, x: 5_000 }, { month: 1, x: 20 }];
    const refused = await insertRows(clickhouse(), 'refusing', ROWS, rows, { deduplicationToken: 'round-1' });
    expect(refused.map((r) => r.row)).toEqual([{ month: 1, x: 5_000 }]);
    expect(refused[0]!.reason).toMatch(/VIOLATED_CONSTRAINT|Constraint `small`/);
    expect(await stored('refusing')).toEqual(Array.from({ length: 21 }, (_, x) => x));

    // A retry of the same write (the client timed out, say): every half it stored is recognised.
    await insertRows(clickhouse(), 'refusing', ROWS, rows, { deduplicationToken: 'round-1' });
    expect(await stored('refusing')).toHaveLength(21);
  });

  it('splits an insert spanning more partitions than one block may hold, and stores all of it', async () => {
    await table('many_partitions');
    const rows = Array.from({ length: 101 }, (_, x) => ({ month: x, x }));
    expect(await insertRows(clickhouse(), 'many_partitions', ROWS, rows, { deduplicationToken: 'round-2' })).toEqual([]);
    expect(await stored('many_partitions')).toHaveLength(101);
  });
});

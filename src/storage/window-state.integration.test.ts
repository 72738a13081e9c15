/**
 * Checkpoints through the real ClickHouse engine: what a partition's new
 * owner loads is the latest checkpoint of each window, open or closed and
 * kept for corrections, and nothing of the windows gone.
 */
import { describe, expect, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import type { WindowCheckpoint } from '../stream/window-store.js';
import { loadCheckpoint, writeCheckpoints } from './window-state.js';

const clickhouse = migratedClickHouse();

function window(key: string, start: number, closed: boolean, events: number, throughOffset: bigint): WindowCheckpoint<{ events: number }> {
  return { key, window: { start, end: start + 60_000 }, aggregate: { events }, closed, emitted: true, emittedAt: start, throughOffset };
}

describe('window checkpoints', () => {
  it('loads the latest checkpoint of each window, closed ones marked, gone ones left out', async () => {
    const topology = 'user-activity-1m';
    await writeCheckpoints(clickhouse(), [
      { topology, partition: 3, version: 10n, checkpoint: { open: [window('ann', 0, false, 1, 5n), window('bob', 0, false, 2, 9n)], gone: [] } },
    ]);
    await writeCheckpoints(clickhouse(), [
      {
        topology,
        partition: 3,
        version: 20n,
        checkpoint: { open: [window('ann', 0, true, 3, 15n), window('ann', 60_000, false, 1, 19n)], gone: [{ key: 'bob', start: 0 }] },
      },
      { topology, partition: 4, version: 7n, checkpoint: { open: [window('cid', 0, false, 1, 6n)], gone: [] } },
    ]);
    const loaded = await loadCheckpoint<{ events: number }>(clickhouse(), topology, 3);
    expect(loaded.sort((a, b) => a.window.start - b.window.start)).toEqual([window('ann', 0, true, 3, 15n), window('ann', 60_000, false, 1, 19n)]);
  });
});

describe('window checkpoint deletion markers', () => {
  it('are purged with the versions they delete by a cleanup merge, leaving only live checkpoints', async () => {
    const topology = 'purge-test';
    await writeCheckpoints(clickhouse(), [
      { topology, partition: 0, version: 1n, checkpoint: { open: [window('ann', 0, false, 1, 1n), window('bob', 0, false, 1, 2n)], gone: [] } },
    ]);
    await writeCheckpoints(clickhouse(), [{ topology, partition: 0, version: 2n, checkpoint: { open: [], gone: [{ key: 'ann', start: 0 }] } }]);
    const rows = async () =>
      Number(
        (
          await (
            await clickhouse().query({ query: `SELECT count() AS n FROM window_state WHERE topology = {topology:String}`, query_params: { topology }, format: 'JSONEachRow' })
          ).json<{ n: string }>()
        )[0]!.n,
      );
    expect(await rows()).toBe(3);
    // What the table's forced merge does once its parts are an hour old (migration 0008).
    await clickhouse().command({ query: 'OPTIMIZE TABLE window_state FINAL CLEANUP' });
    expect(await rows()).toBe(1);
    expect((await loadCheckpoint<{ events: number }>(clickhouse(), topology, 0)).map((w) => w.key)).toEqual(['bob']);
  });
});

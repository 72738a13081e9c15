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

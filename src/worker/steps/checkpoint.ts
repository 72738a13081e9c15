/**
 * Step `checkpoint`: what changed in each partition's open windows (and the
 * closed ones kept for corrections) to `window_state`, versioned by the
 * offset after the round, once the window results are written: the
 * partition's next owner restores its windows from there.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { writeCheckpoints } from '../../storage/window-state.js';
import type { WindowOutputs } from './fold-windows.js';
import { SINK_RETRY, attempt, type Step } from './step.js';
import type { RefusedRows } from './write-window-results.js';

export function createCheckpointStep(clickhouse: ClickHouseClient, refusedRows: RefusedRows): Step<WindowOutputs, void> {
  return {
    name: 'checkpoint',
    retry: SINK_RETRY,
    run: (outputs) =>
      attempt(async () => {
        const checkpoints = outputs.flatMap(({ topology, partitions }) =>
          partitions.map(({ batch, output }) => ({
            topology: topology.name,
            partition: batch.partition,
            version: BigInt(batch.lastOffset) + 1n,
            checkpoint: output.checkpoint,
          })),
        );
        refusedRows('window_state', await writeCheckpoints(clickhouse, checkpoints));
      }),
  };
}

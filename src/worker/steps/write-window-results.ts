/**
 * Step `write window results`: each windowed topology's results to its sink
 * (the typed object its definition names), then the late events and the
 * watermarks, one insert per table for the round. Attempts after the first
 * tell the sinks so (what a failed attempt wrote may be stored); the token
 * is the same for every attempt, so ClickHouse keeps one copy of an insert
 * that timed out in the client but landed. Derived rows a table refuses are
 * dropped (they can be rebuilt from the raw events), but never silently.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { recordLateEvents, recordWatermarks } from '../../storage/window-results.js';
import type { WindowOutputs } from './fold-windows.js';
import { SINK_RETRY, attempt, type Step } from './step.js';

export interface WindowWrite {
  outputs: WindowOutputs;
  /** Names the write for ClickHouse's insert deduplication. */
  token: string;
}

/** Told how many rows of which table were refused. */
export type RefusedRows = (table: string, refused: number) => void;

export function createWriteWindowResultsStep(clickhouse: ClickHouseClient, refusedRows: RefusedRows): Step<WindowWrite, void> {
  return {
    name: 'write window results',
    retry: SINK_RETRY,
    run: ({ outputs, token }, n) =>
      attempt(async () => {
        for (const { topology, partitions } of outputs) {
          const results = partitions.flatMap(({ output }) => output.results);
          refusedRows(topology.sink.name, await topology.sink.write(clickhouse, topology.name, results, { retry: n > 1, token }));
        }
        const late = outputs.map(({ topology, partitions }) => ({ topology: topology.name, late: partitions.flatMap(({ output }) => output.late) }));
        refusedRows('late_events', await recordLateEvents(clickhouse, late));
        const watermarks = outputs.flatMap(({ topology, partitions }) =>
          partitions.map(({ batch, output }) => ({
            topology: topology.name,
            partition: batch.partition,
            watermark: output.stats.watermark,
            openWindows: output.stats.openWindows,
            lateEvents: output.stats.lateEvents,
          })),
        );
        refusedRows('topology_watermarks', await recordWatermarks(clickhouse, watermarks));
      }),
  };
}

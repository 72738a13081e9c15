/**
 * Step `fold windows`: the round's canonical events into each windowed
 * topology's per-partition windows, with what they emit (results, late
 * events, checkpoints, watermarks). Pure and in memory: it cannot fail, so
 * it is never retried; a retry of a later step writes the same outputs.
 */
import type { PartitionBatch } from '../../kafka/round-handlers.js';
import type { ActivityAggregate } from '../../stream/aggregates.js';
import type { PartitionedWindows, PartitionOutput, PositionedEvent } from '../../stream/partitioned-windows.js';
import type { WindowedTopology } from '../../stream/topology.js';
import type { CanonicalEvent } from './dedupe.js';
import { ok, type Step } from './step.js';

/** Per topology, each partition batch with what its windows emitted. */
export type WindowOutputs = Array<{
  topology: WindowedTopology<ActivityAggregate>;
  partitions: Array<{ batch: PartitionBatch; output: PartitionOutput<ActivityAggregate> }>;
}>;

export interface FoldInput {
  round: PartitionBatch[];
  canonical: CanonicalEvent[];
  /** Where each partition's replay (records processed before the last restart) ends. */
  replayedBelow: Map<number, bigint>;
  /** The wall time, for punctuation. */
  now: number;
}

export function createFoldWindowsStep(windows: PartitionedWindows<ActivityAggregate>[]): Step<FoldInput, WindowOutputs> {
  return {
    name: 'fold windows',
    retry: 'never',
    run: async ({ round, canonical, replayedBelow, now }) => {
      const byPartition = new Map<number, PositionedEvent[]>(round.map((b) => [b.partition, []]));
      for (const { event, partition, offset } of canonical) {
        byPartition.get(partition)?.push({ event, offset, replayed: offset < replayedBelow.get(partition)! });
      }
      return ok(
        windows.map((w) => ({
          topology: w.topology,
          partitions: round.map((batch) => ({ batch, output: w.process(batch.partition, byPartition.get(batch.partition)!, now) })),
        })),
      );
    },
  };
}

/**
 * Step `resume`: once per assignment and partition, what its last owner
 * left: the open windows' checkpoints, each topology's watermark and the
 * processed position (from the commit's metadata), and the highest offset
 * stored in `events`. Its output: where each partition's replay ends. And
 * the other end: each batch's commit point, with the metadata a next owner
 * resumes from.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { CommittedPosition } from '../../kafka/batch-consumer.js';
import type { CommitPoint, PartitionBatch } from '../../kafka/round-handlers.js';
import type { ActivityAggregate } from '../../stream/aggregates.js';
import type { PartitionedWindows } from '../../stream/partitioned-windows.js';
import { storedThrough } from '../../storage/events-table.js';
import { loadCheckpoint } from '../../storage/window-state.js';
import { LOOKUP_RETRY, attempt, type Step } from './step.js';

/** Kept with each committed offset (Kafka commit metadata, JSON). */
export interface ResumeState {
  /** Offset after the last record processed: records below it are replays. */
  processed: string;
  /** Each windowed topology's watermark in this partition. */
  watermarks: Record<string, number>;
}

export function parseResumeState(metadata: string | null): ResumeState | undefined {
  if (!metadata) return undefined;
  try {
    const state = JSON.parse(metadata) as ResumeState;
    return typeof state.processed === 'string' && typeof state.watermarks === 'object' ? state : undefined;
  } catch {
    return undefined;
  }
}

export interface ResumeDeps {
  clickhouse: ClickHouseClient;
  windows: PartitionedWindows<ActivityAggregate>[];
  /** The group's committed positions, read once per assignment. */
  committed: () => Promise<CommittedPosition[]>;
}

/** The resume step, and `reset` for a new assignment (every partition resumes again). */
export function createResumeStep(deps: ResumeDeps): Step<PartitionBatch[], Map<number, bigint>> & { reset(): void } {
  let resumed = new Map<number, Promise<bigint>>();
  let committed: Promise<CommittedPosition[]> | undefined;

  function resume(partition: number): Promise<bigint> {
    let done = resumed.get(partition);
    if (!done) {
      committed ??= deps.committed().catch((error: unknown) => {
        committed = undefined;
        throw error;
      });
      done = committed.then(async (positions) => {
        const state = parseResumeState(positions.find((p) => p.partition === partition)?.metadata ?? null);
        const uncertainBelow = await storedThrough(deps.clickhouse, partition);
        for (const w of deps.windows) {
          const saved = await loadCheckpoint<ActivityAggregate>(deps.clickhouse, w.topology.name, partition);
          w.resume(partition, { watermark: state?.watermarks[w.topology.name], windows: saved, uncertainBelow }, Date.now());
        }
        return state ? BigInt(state.processed) : 0n;
      });
      done.catch(() => resumed.delete(partition));
      resumed.set(partition, done);
    }
    return done;
  }

  return {
    name: 'resume',
    retry: LOOKUP_RETRY,
    run: (round) =>
      attempt(async () => {
        const ends = await Promise.all(round.map((batch) => resume(batch.partition)));
        return new Map(round.map((b, i) => [b.partition, ends[i]!]));
      }),
    reset() {
      resumed = new Map();
      committed = undefined;
    },
  };
}

/** After the batch, with each topology's watermark and the processed position as its metadata. */
export function commitPoint(batch: PartitionBatch, replayedBelow: bigint, windows: PartitionedWindows<ActivityAggregate>[]): CommitPoint {
  const next = BigInt(batch.lastOffset) + 1n;
  const state: ResumeState = {
    processed: (next > replayedBelow ? next : replayedBelow).toString(),
    watermarks: Object.fromEntries(windows.map((w) => [w.topology.name, w.watermark(batch.partition)])),
  };
  return { offset: next.toString(), metadata: JSON.stringify(state) };
}

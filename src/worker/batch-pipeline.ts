/**
 * What the worker does with one partition batch, top to bottom:
 *
 *   raw-events topology (decode, dead letters, dedupe, store raw events)
 *   -> each windowed topology: fold the canonical events into the
 *      partition's windows; write results, then the checkpoint of the
 *      windows that changed, late events and the watermark
 *   -> the commit point: after the batch, with each topology's watermark and
 *      the processed position as commit metadata
 *
 * A partition's next owner (after a rebalance, a crash) restores the open
 * windows from their checkpoint and the watermark from the commit; records
 * replayed after a crash between checkpoint and commit are skipped by the
 * windows that already hold them and are never late twice. Results that
 * were already written are recognised by their revision (see storage).
 */
import { concatMap, map, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CommitPoint, CommittedPosition, PartitionBatch } from '../kafka/batch-consumer.js';
import type { Logger } from '../logger.js';
import { secondsSince, type WorkerMetrics } from '../observability/metrics.js';
import type { ActivityAggregate } from '../stream/aggregates.js';
import { SINK_BACKOFF, retryWhileOwned, type Retried } from '../stream/backoff.js';
import { PartitionedWindows, type PartitionOutput } from '../stream/partitioned-windows.js';
import { describeTopology, type WindowedTopology } from '../stream/topology.js';
import { recordLateEvents, recordWatermarks, writeActivityResults, writeSessionResults } from '../storage/window-results.js';
import { loadCheckpoint, writeCheckpoints } from '../storage/window-state.js';
import type { RawEventsOutput } from '../../topology/raw-events.js';

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

/** Which table a topology's results go to. */
const SINKS: Record<string, (client: ClickHouseClient, topology: string, output: PartitionOutput<ActivityAggregate>) => Promise<unknown>> = {
  agg_user_activity_1m: (client, topology, output) => writeActivityResults(client, topology, output.results),
  agg_user_sessions: (client, topology, output) => writeSessionResults(client, topology, output.results),
};

export interface BatchPipelineDeps {
  raw: (batch: PartitionBatch, retried: Retried) => Observable<RawEventsOutput>;
  topologies: WindowedTopology<ActivityAggregate>[];
  clickhouse: ClickHouseClient;
  /** The group's committed positions, read once per assignment. */
  committed: () => Promise<CommittedPosition[]>;
  logger: Logger;
  metrics: WorkerMetrics;
}

/** The steps that write to a sink, by their `sink` label in the write metrics. */
const SINK_STEPS: Record<string, string> = { events: 'events', 'dead letters': 'dead_letters', 'window results': 'window_results' };

export function createBatchPipeline(deps: BatchPipelineDeps) {
  const log = deps.logger.child({ component: 'batch-pipeline' });
  for (const topology of deps.topologies) {
    if (!SINKS[topology.sink]) throw new Error(`topology ${topology.name}: no sink for ${topology.sink}`);
  }
  const windows = deps.topologies.map((topology) => new PartitionedWindows(topology));
  let resumed = new Map<number, Promise<bigint>>();
  /** The group's committed positions, read once per assignment for all its partitions. */
  let committed: Promise<CommittedPosition[]> | undefined;

  /** Once per assignment and partition: checkpointed windows, committed watermarks, where replays end. */
  function resume(partition: number): Promise<bigint> {
    let done = resumed.get(partition);
    if (!done) {
      committed ??= deps.committed().catch((error: unknown) => {
        committed = undefined;
        throw error;
      });
      done = committed.then(async (positions) => {
        const state = parseResumeState(positions.find((p) => p.partition === partition)?.metadata ?? null);
        for (const w of windows) {
          const saved = await loadCheckpoint<ActivityAggregate>(deps.clickhouse, w.topology.name, partition);
          w.resume(partition, state?.watermarks[w.topology.name], saved);
        }
        return state ? BigInt(state.processed) : 0n;
      });
      done.catch(() => resumed.delete(partition));
      resumed.set(partition, done);
    }
    return done;
  }

  async function timedSinkWrite<T>(what: string, work: () => Promise<T>): Promise<T> {
    const sink = SINK_STEPS[what];
    if (!sink) return work();
    const started = performance.now();
    try {
      const result = await work();
      deps.metrics.sinkWriteDuration.observe({ sink }, secondsSince(started));
      return result;
    } catch (error) {
      deps.metrics.sinkWriteFailures.inc({ sink });
      throw error;
    }
  }

  function countProcessed(raw: RawEventsOutput) {
    deps.metrics.eventsProcessed.inc({ outcome: 'stored' }, raw.stored);
    deps.metrics.eventsProcessed.inc({ outcome: 'duplicate' }, raw.duplicates);
    deps.metrics.eventsProcessed.inc({ outcome: 'dead_lettered' }, raw.deadLettered);
  }

  function countWindows(topology: string, output: PartitionOutput<ActivityAggregate>) {
    for (const result of output.results) deps.metrics.windowsEmitted.inc({ topology, kind: result.kind });
    deps.metrics.lateEvents.inc({ topology }, output.late.length);
  }

  function retriedFor(batch: PartitionBatch): Retried {
    // A heartbeat after every step keeps the member in its group through a
    // long batch (kafkajs only sends one when the interval has passed).
    return (what, work) =>
      retryWhileOwned(async () => {
        const result = await timedSinkWrite(what, work);
        await batch.heartbeat();
        return result;
      }, {
        policy: SINK_BACKOFF,
        owned: () => !batch.isStale(),
        onRetry: async (err, attempt) => {
          log.warn({ err, attempt, partition: batch.partition, what }, 'step failed; retrying');
          await batch.heartbeat();
        },
      });
  }

  function windowed(batch: PartitionBatch, raw: RawEventsOutput, replayedBelow: bigint, retried: Retried) {
    const { partition } = batch;
    const events = raw.canonical.map((e) => ({ ...e, replayed: e.offset < replayedBelow }));
    // Computed once: a retry writes the same results and checkpoints again.
    const outputs = windows.map((w) => ({ topology: w.topology, output: w.process(partition, events) }));
    for (const { topology, output } of outputs) countWindows(topology.name, output);
    return retried('window results', async () => {
      for (const { topology, output } of outputs) await SINKS[topology.sink]!(deps.clickhouse, topology.name, output);
      // One insert per table for all topologies: fewer round trips per batch.
      await writeCheckpoints(
        deps.clickhouse,
        partition,
        outputs.map(({ topology, output }) => ({ topology: topology.name, checkpoint: output.checkpoint })),
        BigInt(batch.lastOffset) + 1n,
      );
      await recordLateEvents(deps.clickhouse, outputs.map(({ topology, output }) => ({ topology: topology.name, late: output.late })));
      await recordWatermarks(
        deps.clickhouse,
        outputs.map(({ topology, output }) => ({
          topology: topology.name,
          partition,
          watermark: output.stats.watermark,
          openWindows: output.stats.openWindows,
          lateEvents: output.stats.lateEvents,
        })),
      );
    });
  }

  function commitPoint(batch: PartitionBatch, replayedBelow: bigint): CommitPoint {
    const next = BigInt(batch.lastOffset) + 1n;
    const state: ResumeState = {
      processed: (next > replayedBelow ? next : replayedBelow).toString(),
      watermarks: Object.fromEntries(windows.map((w) => [w.topology.name, w.watermark(batch.partition)])),
    };
    return { offset: next.toString(), metadata: JSON.stringify(state) };
  }

  return {
    describe: () => deps.topologies.map(describeTopology),
    /** Per topology: its definition and the window state of the partitions this worker holds. */
    state: () =>
      windows.map((w) => ({
        name: w.topology.name,
        description: describeTopology(w.topology),
        sink: w.topology.sink,
        partitions: w.state().map((p) => ({ ...p, watermark: Number.isFinite(p.watermark) ? new Date(p.watermark).toISOString() : null })),
      })),
    onAssignment() {
      for (const w of windows) w.reset();
      resumed = new Map();
      committed = undefined;
    },
    process(batch: PartitionBatch): Observable<CommitPoint> {
      const retried = retriedFor(batch);
      return retried('resume state', () => resume(batch.partition)).pipe(
        concatMap((replayedBelow) =>
          deps.raw(batch, retried).pipe(
            concatMap((raw) => {
              countProcessed(raw);
              return windowed(batch, raw, replayedBelow, retried);
            }),
            map(() => commitPoint(batch, replayedBelow)),
          ),
        ),
      );
    },
  };
}

/**
 * What the worker does with one round of partition batches (see
 * batch-consumer), top to bottom:
 *
 *   taking the round in:
 *     raw-events topology (decode, dead letters, dedupe), then its insert of
 *     the raw events; meanwhile each windowed topology folds each
 *     partition's canonical events into that partition's windows
 *     -> each batch's commit point: after the batch, with each topology's
 *        watermark and the processed position as commit metadata
 *   finishing it (while the next round is taken in, see batch-consumer):
 *     write the window results, then the checkpoints of the windows that
 *     changed, late events and the watermarks, one insert per table for the
 *     whole round; rounds finish in order, so a round's writes never pass
 *     the previous round's
 *
 *   between rounds (wall-clock punctuation, see batch-consumer): the
 *     windows' changes waiting longer than the punctuation's bound, and the
 *     windows an idle partition's watermark closed as it followed the wall
 *     clock, written as a round's finish is (results, checkpoints,
 *     watermarks), in the same order as the rounds
 *
 * A partition's next owner (after a rebalance, a crash) restores the open
 * windows from their checkpoint and the watermark from the commit; records
 * replayed after a crash between checkpoint and commit are skipped by the
 * windows that already hold them and are never late twice. Results that
 * were already written are recognised by their revision (see storage).
 */
import { asyncScheduler, concatMap, defer, forkJoin, map, of, subscribeOn, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CommitPoint, CommittedPosition, HeldPartition, PartitionBatch, TakenRound } from '../kafka/batch-consumer.js';
import type { Logger } from '../logger.js';
import { secondsSince, type WorkerMetrics } from '../observability/metrics.js';
import type { ActivityAggregate } from '../stream/aggregates.js';
import { SINK_BACKOFF, retryWhileOwned, type Retried } from '../stream/backoff.js';
import { PartitionedWindows, type PartitionOutput, type PositionedEvent } from '../stream/partitioned-windows.js';
import { describeTopology, type WindowedTopology } from '../stream/topology.js';
import type { Punctuation, WindowResult } from '../stream/window-store.js';
import { recordLateEvents, recordWatermarks, writeActivityResults, writeSessionResults, type SinkAttempt } from '../storage/window-results.js';
import { storedThrough } from '../storage/events-table.js';
import { loadCheckpoint, writeCheckpoints } from '../storage/window-state.js';
import { roundToken, type RawEventsOutput } from '../../topology/raw-events.js';

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

/** Which table a topology's results go to; a write returns how many rows the table refused. */
const SINKS: Record<
  string,
  (client: ClickHouseClient, topology: string, results: WindowResult<ActivityAggregate>[], attempt: SinkAttempt) => Promise<number>
> = {
  agg_user_activity_1m: writeActivityResults,
  agg_user_sessions: writeSessionResults,
};

/** Per topology, each partition batch of a round with what its windows emitted. */
type WindowOutputs = Array<{
  topology: WindowedTopology<ActivityAggregate>;
  partitions: Array<{ batch: PartitionBatch; output: PartitionOutput<ActivityAggregate> }>;
}>;

export interface BatchPipelineDeps {
  raw: (round: PartitionBatch[], retried: Retried) => Observable<RawEventsOutput>;
  topologies: WindowedTopology<ActivityAggregate>[];
  clickhouse: ClickHouseClient;
  /** The group's committed positions, read once per assignment. */
  committed: () => Promise<CommittedPosition[]>;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Wall-clock punctuation of the windows (window-store.ts); without it, event time alone drives them. */
  punctuation?: Punctuation;
}

/** The steps that write to a sink, by their `sink` label in the write metrics. */
const SINK_STEPS: Record<string, string> = { events: 'events', 'dead letters': 'dead_letters', 'window results': 'window_results' };

export function createBatchPipeline(deps: BatchPipelineDeps) {
  const log = deps.logger.child({ component: 'batch-pipeline' });
  for (const topology of deps.topologies) {
    if (!SINKS[topology.sink]) throw new Error(`topology ${topology.name}: no sink for ${topology.sink}`);
  }
  const windows = deps.topologies.map((topology) => new PartitionedWindows(topology, deps.punctuation));
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
        const uncertainBelow = await storedThrough(deps.clickhouse, partition);
        for (const w of windows) {
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

  function countProcessed(raw: RawEventsOutput, quarantined: number) {
    deps.metrics.eventsProcessed.inc({ outcome: 'stored' }, raw.stored - quarantined);
    deps.metrics.eventsProcessed.inc({ outcome: 'quarantined' }, quarantined);
    deps.metrics.eventsProcessed.inc({ outcome: 'duplicate' }, raw.duplicates);
    deps.metrics.eventsProcessed.inc({ outcome: 'dead_lettered' }, raw.deadLettered);
  }

  function countWindows(topology: string, output: PartitionOutput<ActivityAggregate>) {
    // Counted per kind, then added: prom-client hashes the labels on every inc, and a round emits tens of thousands of results.
    const byKind = new Map<string, number>();
    for (const { kind } of output.results) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    for (const [kind, n] of byKind) deps.metrics.windowsEmitted.inc({ topology, kind }, n);
    deps.metrics.lateEvents.inc({ topology }, output.late.length);
    if (output.shed.windows > 0) deps.metrics.windowsShed.inc({ topology, cap: 'window' }, output.shed.windows);
    if (output.shed.actions > 0) deps.metrics.windowsShed.inc({ topology, cap: 'action' }, output.shed.actions);
  }

  function retriedFor(round: PartitionBatch[]): Retried {
    const partitions = round.map((b) => b.partition);
    // A heartbeat after every step keeps the member in its group through a
    // long round (kafkajs only sends one when the interval has passed); all
    // batches share the one consumer, so any batch's heartbeat will do.
    // A heartbeat refused (the group is rebalancing) is not the step's
    // failure: what the step wrote stays written, and kafkajs rejoins on its
    // own; failing the step would rewrite it, and hold the rebalance, which
    // waits for this round, until the member is dropped.
    const heartbeat = () => round[0]!.heartbeat().catch((err: unknown) => log.debug({ err, partitions }, 'heartbeat refused'));
    return (what, work) =>
      retryWhileOwned(async () => {
        const result = await timedSinkWrite(what, work);
        await heartbeat();
        return result;
      }, {
        policy: SINK_BACKOFF,
        // A round is retried as a whole, so only while every partition in it is still ours.
        owned: () => round.every((b) => !b.isStale()),
        onRetry: async (err, attempt, kind) => {
          if (kind === 'deterministic') log.error({ err, attempt, partitions, what }, 'step failed with an error retrying cannot fix; retrying slowly');
          else log.warn({ err, attempt, partitions, what }, 'step failed; retrying');
          await heartbeat();
        },
      });
  }

  /**
   * Folds the canonical events of these batches into each topology's
   * windows: what to write, once (a retry writes it again).
   * `replayedBelow`: where each partition's replay ends.
   */
  function computeWindows(batches: PartitionBatch[], raw: RawEventsOutput, replayedBelow: Map<number, bigint>): WindowOutputs {
    const byPartition = new Map<number, PositionedEvent[]>(batches.map((b) => [b.partition, []]));
    for (const { event, partition, offset } of raw.canonical) {
      byPartition.get(partition)?.push({ event, offset, replayed: offset < replayedBelow.get(partition)! });
    }
    const now = Date.now();
    const outputs = windows.map((w) => ({
      topology: w.topology,
      partitions: batches.map((batch) => ({ batch, output: w.process(batch.partition, byPartition.get(batch.partition)!, now) })),
    }));
    for (const { topology, partitions } of outputs) for (const { output } of partitions) countWindows(topology.name, output);
    return outputs;
  }

  /** Derived rows a table refused: dropped (they can be rebuilt from the raw events), but never silently. */
  function refusedRows(sink: string, refused: number, partitions: number[]) {
    if (refused === 0) return;
    deps.metrics.rowsRefused.inc({ sink }, refused);
    log.error({ sink, refused, partitions }, 'rows refused by ClickHouse were left out of the write');
  }

  /** `token`: names the write for ClickHouse's insert deduplication, the same for each of its attempts. */
  function writeWindows(outputs: WindowOutputs, retried: Retried, partitions: number[], token: string) {
    let attempts = 0;
    return retried('window results', async () => {
      const attempt: SinkAttempt = { retry: attempts++ > 0, token };
      for (const { topology, partitions: written } of outputs) {
        const refused = await SINKS[topology.sink]!(deps.clickhouse, topology.name, written.flatMap(({ output }) => output.results), attempt);
        refusedRows(topology.sink, refused, partitions);
      }
      const refusedCheckpoints = await writeCheckpoints(
        deps.clickhouse,
        outputs.flatMap(({ topology, partitions }) =>
          partitions.map(({ batch, output }) => ({
            topology: topology.name,
            partition: batch.partition,
            version: BigInt(batch.lastOffset) + 1n,
            checkpoint: output.checkpoint,
          })),
        ),
      );
      refusedRows('window_state', refusedCheckpoints, partitions);
      const refusedLate = await recordLateEvents(
        deps.clickhouse,
        outputs.map(({ topology, partitions }) => ({ topology: topology.name, late: partitions.flatMap(({ output }) => output.late) })),
      );
      refusedRows('late_events', refusedLate, partitions);
      const refusedWatermarks = await recordWatermarks(
        deps.clickhouse,
        outputs.flatMap(({ topology, partitions }) =>
          partitions.map(({ batch, output }) => ({
            topology: topology.name,
            partition: batch.partition,
            watermark: output.stats.watermark,
            openWindows: output.stats.openWindows,
            lateEvents: output.stats.lateEvents,
          })),
        ),
      );
      refusedRows('topology_watermarks', refusedWatermarks, partitions);
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
    /**
     * Wall-clock punctuation of the partitions held, between rounds: what
     * it emitted, to write (undefined when nothing is due). Each partition's
     * checkpoint keeps the version of its last round.
     */
    punctuate(held: HeldPartition[]): Observable<unknown> | undefined {
      const now = Date.now();
      const outputs: WindowOutputs = windows.map((w) => ({
        topology: w.topology,
        partitions: held.flatMap(({ batch, caughtUp }) => {
          const output = w.punctuate(batch.partition, now, caughtUp);
          return output ? [{ batch, output }] : [];
        }),
      }));
      if (outputs.every((o) => o.partitions.length === 0)) return undefined;
      for (const { topology, partitions } of outputs) for (const { output } of partitions) countWindows(topology.name, output);
      const batches = held.map((h) => h.batch);
      return writeWindows(outputs, retriedFor(batches), batches.map((b) => b.partition), `punctuation:${roundToken(batches)}`);
    },
    onAssignment() {
      for (const w of windows) w.reset();
      resumed = new Map();
      committed = undefined;
    },
    process(round: PartitionBatch[]): Observable<TakenRound> {
      const retried = retriedFor(round);
      return retried('resume state', () => Promise.all(round.map((batch) => resume(batch.partition)))).pipe(
        concatMap((replayedBelow) => {
          const replayEnds = new Map(round.map((b, i) => [b.partition, replayedBelow[i]!]));
          return deps.raw(round, retried).pipe(
            concatMap((raw) => {
              // The raw insert goes out first and the windows are computed
              // while ClickHouse takes it (on the other core); their results
              // are written only once it is stored, which is what lets a
              // partition's stored offsets bound what any owner has written.
              const computed = defer(() => of(computeWindows(round, raw, replayEnds))).pipe(subscribeOn(asyncScheduler));
              return forkJoin([raw.insert, computed, of(raw)]);
            }),
            // The commit points carry the watermarks as of this round: the next
            // round may be folded in before this one's results are written.
            map(([quarantined, outputs, raw]) => {
              countProcessed(raw, quarantined);
              if (quarantined > 0) {
                deps.metrics.rowsRefused.inc({ sink: 'events' }, quarantined);
                log.error({ quarantined, partitions: round.map((b) => b.partition) }, 'events refused by ClickHouse moved to the dead-letter topic');
              }
              return {
                commits: round.map((batch, i) => commitPoint(batch, replayedBelow[i]!)),
                finish: writeWindows(outputs, retried, round.map((b) => b.partition), roundToken(round)),
              };
            }),
          );
        }),
      );
    },
  };
}

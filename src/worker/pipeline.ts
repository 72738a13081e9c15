/**
 * The worker's pipeline: the steps of src/worker/steps/ wired top to bottom,
 * for the round driver (src/kafka/round-driver.ts) to run over each round:
 *
 *   taking the round in:
 *     resume -> decode -> dead letters -> dedupe
 *     -> store raw (-> dead letters: the quarantine)      round: stored
 *        and, while ClickHouse takes the insert,
 *        fold windows                                       round: folded
 *     -> each batch's commit point (watermarks, processed position)
 *   finishing it (while the next round is taken in):
 *     write window results -> checkpoint                    round: written
 *     (the driver then commits)                             round: committed
 *
 *   between rounds (wall-clock punctuation): fold windows' punctuation
 *     -> write window results -> checkpoint, in the rounds' order
 *
 * Every step retries by its own policy while the round is this member's
 * (a revoked round writes nothing more) and within the shutdown grace.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { CommittedPosition } from '../kafka/batch-consumer.js';
import type { DeadLetterSink } from '../kafka/dead-letters.js';
import type { BatchHandlers, HeldPartition, PartitionBatch, RoundContext, TakenRound } from '../kafka/round-handlers.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { EventDecoder } from '../serde/event-decoder.js';
import type { ActivityAggregate } from '../stream/aggregates.js';
import { PartitionedWindows, type PartitionOutput } from '../stream/partitioned-windows.js';
import { describeRawTopology, describeTopology, type RawTopology, type WindowedTopology } from '../stream/topology.js';
import type { Punctuation } from '../stream/window-store.js';
import { createCheckpointStep } from './steps/checkpoint.js';
import { createDeadLettersStep } from './steps/dead-letters.js';
import { createDecodeStep } from './steps/decode.js';
import { createDedupeStep } from './steps/dedupe.js';
import { createFoldWindowsStep, type WindowOutputs } from './steps/fold-windows.js';
import { commitPoint, createResumeStep } from './steps/resume.js';
import { runStep, type StepName, type StepRun } from './steps/step.js';
import { createStoreRawStep, roundToken } from './steps/store-raw.js';
import { createWriteWindowResultsStep } from './steps/write-window-results.js';

export interface PipelineDeps {
  raw: RawTopology;
  topologies: WindowedTopology<ActivityAggregate>[];
  decode: EventDecoder;
  deadLetters: DeadLetterSink;
  clickhouse: ClickHouseClient;
  /** The group's committed positions, read once per assignment. */
  committed: () => Promise<CommittedPosition[]>;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Wall-clock punctuation of the windows (window-store.ts); without it, event time alone drives them. */
  punctuation?: Punctuation;
}

/** The steps that write to a sink, by their `sink` label in the write metrics. */
const SINK_LABELS: Partial<Record<StepName, string>> = {
  'store raw': 'events',
  'dead letters': 'dead_letters',
  'write window results': 'window_results',
  checkpoint: 'window_state',
};

/** The next turn of the event loop: lets a request just started go out first. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createPipeline(deps: PipelineDeps) {
  const log = deps.logger.child({ component: 'pipeline' });
  const windows = deps.topologies.map((topology) => new PartitionedWindows(topology, deps.punctuation));
  const refusedRows = (table: string, refused: number) => {
    if (refused === 0) return;
    deps.metrics.rowsRefused.inc({ sink: table }, refused);
    log.error({ sink: table, refused }, 'rows refused by ClickHouse were left out of the write');
  };
  const steps = {
    resume: createResumeStep({ clickhouse: deps.clickhouse, windows, committed: deps.committed }),
    decode: createDecodeStep(deps.decode),
    deadLetters: createDeadLettersStep(deps.deadLetters),
    dedupe: createDedupeStep(deps.clickhouse),
    storeRaw: createStoreRawStep(deps.raw.sink, deps.clickhouse),
    fold: createFoldWindowsStep(windows),
    writeResults: createWriteWindowResultsStep(deps.clickhouse, refusedRows),
    checkpoint: createCheckpointStep(deps.clickhouse, refusedRows),
  };

  function runOf(round: RoundContext, partitions: number[]): StepRun {
    return {
      round,
      logger: log.child({ partitions }),
      observed(step, seconds, outcome) {
        const sink = SINK_LABELS[step];
        if (!sink) return;
        if (outcome === 'ok') deps.metrics.sinkWriteDuration.observe({ sink }, seconds);
        else deps.metrics.sinkWriteFailures.inc({ sink });
      },
    };
  }

  function countWindows(outputs: WindowOutputs) {
    for (const { topology, partitions } of outputs) {
      for (const { output } of partitions) countWindowOutput(topology.name, output);
    }
  }

  function countWindowOutput(topology: string, output: PartitionOutput<ActivityAggregate>) {
    // Counted per kind, then added: prom-client hashes the labels on every inc, and a round emits tens of thousands of results.
    const byKind = new Map<string, number>();
    for (const { kind } of output.results) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    for (const [kind, n] of byKind) deps.metrics.windowsEmitted.inc({ topology, kind }, n);
    deps.metrics.lateEvents.inc({ topology }, output.late.length);
    if (output.shed.windows > 0) deps.metrics.windowsShed.inc({ topology, cap: 'window' }, output.shed.windows);
    if (output.shed.actions > 0) deps.metrics.windowsShed.inc({ topology, cap: 'action' }, output.shed.actions);
  }

  function countProcessed(fresh: number, quarantined: number, duplicates: number, deadLettered: number) {
    deps.metrics.eventsProcessed.inc({ outcome: 'stored' }, fresh - quarantined);
    deps.metrics.eventsProcessed.inc({ outcome: 'quarantined' }, quarantined);
    deps.metrics.eventsProcessed.inc({ outcome: 'duplicate' }, duplicates);
    deps.metrics.eventsProcessed.inc({ outcome: 'dead_lettered' }, deadLettered);
    if (quarantined > 0) deps.metrics.rowsRefused.inc({ sink: 'events' }, quarantined);
  }

  async function writeWindows(outputs: WindowOutputs, token: string, run: StepRun) {
    await runStep(steps.writeResults, { outputs, token }, run);
    await runStep(steps.checkpoint, outputs, run);
  }

  const handlers: BatchHandlers = {
    async process(round: PartitionBatch[], context: RoundContext): Promise<TakenRound> {
      const run = runOf(context, round.map((b) => b.partition));
      const replayedBelow = await runStep(steps.resume, round, run);
      const { decoded, letters } = await runStep(steps.decode, round, run);
      await runStep(steps.deadLetters, letters, run);
      const { fresh, canonical, duplicates } = await runStep(steps.dedupe, decoded, run);
      const token = roundToken(round);
      // The raw insert goes out first and the windows are folded while
      // ClickHouse takes it (on the other core); their results are written
      // only once it is stored, which is what lets a partition's stored
      // offsets bound what any owner has written.
      const storing = fresh.length > 0 ? runStep(steps.storeRaw, { fresh, token }, run) : Promise.resolve([]);
      storing.catch(() => undefined); // awaited below, after the fold
      await nextTurn();
      const outputs = await runStep(steps.fold, { round, canonical, replayedBelow, now: Date.now() }, run);
      const quarantined = await storing;
      await runStep(steps.deadLetters, quarantined, run);
      context.progress('stored');
      countWindows(outputs);
      context.progress('folded');
      countProcessed(fresh.length, quarantined.length, duplicates, letters.length);
      if (quarantined.length > 0) log.error({ quarantined: quarantined.length, partitions: round.map((b) => b.partition) }, 'events refused by ClickHouse moved to the dead-letter topic');
      return {
        // The commit points carry the watermarks as of this round: the next round may be folded in before this one's results are written.
        commits: round.map((batch) => commitPoint(batch, replayedBelow.get(batch.partition)!, windows)),
        finish: () => writeWindows(outputs, token, run),
      };
    },
    onAssignment() {
      for (const w of windows) w.reset();
      steps.resume.reset();
    },
    /**
     * Wall-clock punctuation of the partitions held, between rounds: what
     * it emitted, to write (undefined when nothing is due). Each partition's
     * checkpoint keeps the version of its last round.
     */
    punctuate(held: HeldPartition[], context: RoundContext) {
      const now = Date.now();
      const outputs: WindowOutputs = windows.map((w) => ({
        topology: w.topology,
        partitions: held.flatMap(({ batch, caughtUp }) => {
          const output = w.punctuate(batch.partition, now, caughtUp);
          return output ? [{ batch, output }] : [];
        }),
      }));
      if (outputs.every((o) => o.partitions.length === 0)) return undefined;
      countWindows(outputs);
      const batches = held.map((h) => h.batch);
      const run = runOf(context, batches.map((b) => b.partition));
      return () => writeWindows(outputs, `punctuation:${roundToken(batches)}`, run);
    },
  };

  return {
    handlers,
    describe: () => [describeRawTopology(deps.raw), ...deps.topologies.map(describeTopology)],
    /** Per topology: its definition and the window state of the partitions this worker holds. */
    state: () =>
      windows.map((w) => ({
        name: w.topology.name,
        description: describeTopology(w.topology),
        sink: w.topology.sink.name,
        partitions: w.state().map((p) => ({ ...p, watermark: Number.isFinite(p.watermark) ? new Date(p.watermark).toISOString() : null })),
      })),
  };
}

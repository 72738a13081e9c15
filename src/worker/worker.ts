/**
 * The topology worker process: one member of the consumer group. It runs the
 * topologies of topology/ over the partitions it is assigned with the steps
 * of ./steps (wired in ./pipeline.ts), commits after the sinks accepted each
 * round, and on SIGTERM commits what finishes within WORKER_SHUTDOWN_GRACE_MS,
 * leaves the rest to the partitions' next owner, leaves the group and exits.
 */
import { Hono } from 'hono';
import type { Config } from '../config.js';
import { createHealthRoutes, createReadinessProbe } from '../http/health.js';
import { runSteps, startupSteps } from '../bootstrap.js';
import { OPS_SERVER_LIMITS, listen, type Listening } from '../http/listen.js';
import { committedPositions, runBatchConsumer, type RunningConsumer } from '../kafka/batch-consumer.js';
import type { ConsumerObserver } from '../kafka/round-handlers.js';
import { createKafka } from '../kafka/client.js';
import { createDeadLetterSink, deadLetterTopic } from '../kafka/dead-letters.js';
import type { Logger } from '../logger.js';
import { createMetricsRoutes } from '../observability/metrics-route.js';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/metrics.js';
import { createEventDecoder } from '../serde/event-decoder.js';
import { createRegistry, createSchemaCatalog, readerType, valueSubject } from '../serde/event-schemas.js';
import { createClickHouse } from '../storage/clickhouse.js';
import { rawEventsTopology } from '../../topology/raw-events.js';
import { userActivityTopology } from '../../topology/user-activity.js';
import { userSessionsTopology } from '../../topology/user-sessions.js';
import { createPipeline } from './pipeline.js';

export interface RunningWorker {
  consumer: RunningConsumer;
  http: Listening;
  close(): Promise<void>;
}

/** Consumer lag per assigned partition; an assignment change drops the partitions no longer ours. */
function lagObserver(metrics: WorkerMetrics): ConsumerObserver {
  return {
    committed({ topic, partition, records, seconds, lag }) {
      metrics.batchRecords.observe(records);
      metrics.batchDuration.observe(seconds);
      metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    },
    assigned: () => metrics.consumerLag.reset(),
  };
}

/** What the worker's endpoints read; filled in as it starts. */
interface WorkerView {
  isMember(): boolean;
  raw?: string;
  topologies?: () => unknown;
}

/**
 * /healthz, /readyz (a member of the group), /metrics for probes and
 * Prometheus, and /topology: what this worker runs and the window state of
 * the partitions it holds (watermarks, open windows, late events).
 */
function workerHttp(view: WorkerView, metrics: WorkerMetrics, source: { topic: string; consumer_group: string }) {
  return new Hono()
    .get('/topology', (c) => {
      if (!view.topologies) return c.json({ error: { code: 'starting', message: 'the worker is still starting' } }, 503);
      return c.json({ ...source, raw: view.raw, windowed: view.topologies() });
    })
    .route(
      '/',
      createHealthRoutes(
        createReadinessProbe({
          required: {
            consumer_group: async () => {
              if (!view.isMember()) throw new Error('not a member of the consumer group (starting, joining, rebalancing or stopped)');
            },
          },
        }),
        { detail: true },
      ),
    )
    .route('/', createMetricsRoutes(metrics.registry));
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const metrics = createWorkerMetrics();
  const topic = config.kafka.eventsTopic;
  const groupId = config.kafka.consumerGroup;
  let consumer: RunningConsumer | undefined;
  const view: WorkerView = { isMember: () => consumer?.isMember() ?? false };
  // Serving from the start: liveness holds while the startup steps wait on a dependency; readiness follows the group.
  const http = await listen(workerHttp(view, metrics, { topic, consumer_group: groupId }), config.worker.httpHost, config.worker.httpPort, OPS_SERVER_LIMITS);
  const kafka = createKafka(config.kafka, logger);
  await runSteps(startupSteps(config, kafka));

  const clickhouse = createClickHouse(config.clickhouse);
  const deadLetters = createDeadLetterSink(kafka, deadLetterTopic(topic));
  const pipeline = createPipeline({
    raw: rawEventsTopology,
    topologies: [userActivityTopology(config.topology), userSessionsTopology(config.topology)],
    decode: createEventDecoder(
      createSchemaCatalog(createRegistry(config.schemaRegistry.url), valueSubject(topic), config.schemaRegistry.refreshMs),
      await readerType(),
    ),
    deadLetters,
    clickhouse,
    committed: () => committedPositions(kafka, groupId, topic),
    logger,
    metrics,
    punctuation: { emitWithinMs: config.topology.emitWithinMs, idleAfterMs: config.topology.idleAfterMs },
  });
  const descriptions = pipeline.describe();
  view.raw = descriptions[0]!;
  view.topologies = pipeline.state;
  logger.info({ topologies: descriptions }, 'topologies');

  consumer = await runBatchConsumer(
    kafka,
    {
      groupId,
      topic,
      partitionsConsumedConcurrently: config.kafka.eventsPartitions,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      // Four looks per bound: a change waits at most the bound and a quarter of it before its write starts.
      punctuateEveryMs: Math.max(50, Math.floor(config.topology.emitWithinMs / 4)),
    },
    pipeline.handlers,
    logger,
    lagObserver(metrics),
  );
  logger.info({ topic, groupId, http: `${config.worker.httpHost}:${http.port}` }, 'topology worker running');

  const running = consumer;
  return {
    consumer: running,
    http,
    async close() {
      await running.stop(config.worker.shutdownGraceMs);
      await http.close();
      await deadLetters.close();
      await clickhouse.close();
    },
  };
}

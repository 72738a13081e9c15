/**
 * The topology worker process: one member of the consumer group. It runs the
 * topologies of topology/ over the partitions it is assigned (raw events,
 * then the windowed aggregations), commits after the sinks accepted each
 * batch, and on SIGTERM finishes in-flight batches, commits, leaves the group
 * and exits.
 */
import { Hono } from 'hono';
import type { Config } from '../config.js';
import { createHealthRoutes } from '../http/health.js';
import { runSteps, startupSteps } from '../bootstrap.js';
import { listen, type Listening } from '../http/listen.js';
import { committedPositions, runBatchConsumer, type ConsumerObserver, type RunningConsumer } from '../kafka/batch-consumer.js';
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
import { createBatchPipeline } from './batch-pipeline.js';

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

/** /healthz, /readyz (a member of the group) and /metrics, for probes and Prometheus. */
function workerHttp(isMember: () => boolean, metrics: WorkerMetrics) {
  return new Hono()
    .route(
      '/',
      createHealthRoutes({
        required: {
          consumer_group: async () => {
            if (!isMember()) throw new Error('not a member of the consumer group (starting, joining, rebalancing or stopped)');
          },
        },
      }),
    )
    .route('/', createMetricsRoutes(metrics.registry));
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const metrics = createWorkerMetrics();
  let consumer: RunningConsumer | undefined;
  // Serving from the start: liveness holds while the startup steps wait on a dependency; readiness follows the group.
  const http = await listen(workerHttp(() => consumer?.isMember() ?? false, metrics), config.worker.httpHost, config.worker.httpPort);
  const kafka = createKafka(config.kafka, logger);
  const topic = config.kafka.eventsTopic;
  const groupId = config.kafka.consumerGroup;
  await runSteps(startupSteps(config, kafka));

  const clickhouse = createClickHouse(config.clickhouse);
  const deadLetters = createDeadLetterSink(kafka, deadLetterTopic(topic));
  const pipeline = createBatchPipeline({
    raw: rawEventsTopology({
      decode: createEventDecoder(
        createSchemaCatalog(createRegistry(config.schemaRegistry.url), valueSubject(topic), config.schemaRegistry.refreshMs),
        await readerType(),
      ),
      clickhouse,
      deadLetters,
    }),
    topologies: [userActivityTopology(config.topology), userSessionsTopology(config.topology)],
    clickhouse,
    committed: () => committedPositions(kafka, groupId, topic),
    logger,
    metrics,
  });
  logger.info({ topologies: ['raw-events: events -> decode -> dedupe(event_id) -> to(events)', ...pipeline.describe()] }, 'topologies');

  consumer = await runBatchConsumer(
    kafka,
    { groupId, topic, partitionsConsumedConcurrently: 3 },
    pipeline,
    logger,
    lagObserver(metrics),
  );
  logger.info({ topic, groupId, http: `${config.worker.httpHost}:${http.port}` }, 'topology worker running');

  const running = consumer;
  return {
    consumer: running,
    http,
    async close() {
      await running.stop();
      await http.close();
      await deadLetters.close();
      await clickhouse.close();
    },
  };
}

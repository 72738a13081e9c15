/**
 * The topology worker process: one member of the consumer group. It runs the
 * topologies of topology/ over the partitions it is assigned (raw events,
 * then the windowed aggregations), commits after the sinks accepted each
 * batch, and on SIGTERM finishes in-flight batches, commits, leaves the group
 * and exits.
 */
import type { Config } from '../config.js';
import { runSteps, startupSteps } from '../bootstrap.js';
import { committedPositions, runBatchConsumer, type RunningConsumer } from '../kafka/batch-consumer.js';
import { createKafka } from '../kafka/client.js';
import { createDeadLetterSink, deadLetterTopic } from '../kafka/dead-letters.js';
import type { Logger } from '../logger.js';
import { createEventDecoder } from '../serde/event-decoder.js';
import { createRegistry, createSchemaCatalog, readerType, valueSubject } from '../serde/event-schemas.js';
import { createClickHouse } from '../storage/clickhouse.js';
import { rawEventsTopology } from '../../topology/raw-events.js';
import { userActivityTopology } from '../../topology/user-activity.js';
import { userSessionsTopology } from '../../topology/user-sessions.js';
import { createBatchPipeline } from './batch-pipeline.js';

export interface RunningWorker {
  consumer: RunningConsumer;
  close(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
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
  });
  logger.info({ topologies: ['raw-events: events -> decode -> dedupe(event_id) -> to(events)', ...pipeline.describe()] }, 'topologies');

  const consumer = await runBatchConsumer(kafka, { groupId, topic, partitionsConsumedConcurrently: 3 }, pipeline, logger);
  logger.info({ topic, groupId }, 'topology worker running');

  return {
    consumer,
    async close() {
      await consumer.stop();
      await deadLetters.close();
      await clickhouse.close();
    },
  };
}

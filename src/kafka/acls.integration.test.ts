/**
 * The role ACLs against the real broker, with the native stack's role users
 * (scripts/services.sh): each role can do its job and nothing else it was not
 * granted. Skipped where the broker has no role users (Testcontainers' plaintext
 * broker, or services given without their passwords).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaJSError, type Kafka } from 'kafkajs';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { isolatedEnv, roleEnv } from '../../testing/test-config.js';
import { testKafka } from '../../testing/kafka.js';
import { ROLE_USERS, grantRoleAcls, revokeRoleAcls, type KafkaRole } from './acls.js';
import { createKafka, ensureTopic } from './client.js';
import { deadLetterTopic } from './dead-letters.js';

const services = inject('services');
const env = isolatedEnv(services, { KAFKA_EVENTS_PARTITIONS: '1' });
const config = loadConfig(env).kafka;
const dlq = deadLetterTopic(config.eventsTopic);

/** A client authenticated as one role's user. */
const asRole = (role: KafkaRole): Kafka => testKafka(loadConfig(roleEnv(services, env, role)).kafka);

/** 'ok', or the broker's error type (TOPIC_AUTHORIZATION_FAILED, ...). */
async function outcome(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return 'ok';
  } catch (error) {
    const found = [error, (error as { cause?: unknown }).cause, ...((error as { errors?: unknown[] }).errors ?? [])].find(
      (e): e is KafkaJSError & { type: string } => e instanceof KafkaJSError && typeof (e as { type?: unknown }).type === 'string',
    );
    return found?.type ?? (error as Error).message;
  }
}

async function produce(kafka: Kafka, topic: string, value: string): Promise<void> {
  const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: 'k', value }] });
  } finally {
    await producer.disconnect();
  }
}

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

/** Reads the first record of `topic` in `groupId`, or fails with what stopped the consumer. */
async function readFirst(kafka: Kafka, topic: string, groupId: string): Promise<string> {
  // Retries for what is transient (the offsets topic of a new broker); an authorization error is not.
  const consumer = kafka.consumer({ groupId, retry: { retries: 8, restartOnFailure: async () => false } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nothing read within 30 s')), 30_000);
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(timer);
        reject(payload.error);
      });
      consumer
        .run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value?.toString() ?? '');
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

describe.runIf(services.kafkaRolePasswords !== undefined)('Kafka role ACLs (what k8s/ KafkaUsers grant)', () => {
  const admin = testKafka(config).admin();

  beforeAll(async () => {
    const kafka = createKafka(config, createLogger('silent', 'test'));
    await ensureTopic(kafka, config.eventsTopic, 1);
    await ensureTopic(kafka, dlq, 1);
    await admin.connect();
    await grantRoleAcls(admin, config);
  });
  afterAll(async () => {
    await revokeRoleAcls(admin, config);
    await admin.disconnect();
  });

  it('lets the api user write events and read them in its live groups only, and nothing more', async () => {
    const api = asRole('api');
    expect(await outcome(() => produce(api, config.eventsTopic, 'from-api'))).toBe('ok');
    expect(await readFirst(api, config.eventsTopic, `${config.liveGroupPrefix}probe`)).toBe('from-api');
    // Outside its prefix, and in the workers' group (Describe only: no join, no commit).
    const groupRefused = /GROUP_AUTHORIZATION_FAILED|Failed to find group coordinator/;
    expect(await outcome(() => readFirst(api, config.eventsTopic, `${config.consumerGroup}-api-probe`))).toMatch(groupRefused);
    expect(await outcome(() => readFirst(api, config.eventsTopic, config.consumerGroup))).toMatch(groupRefused);
    expect(await outcome(() => readFirst(api, dlq, `${config.liveGroupPrefix}dlq-probe`))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await outcome(() => produce(api, dlq, 'not-a-dead-letter'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await outcome(() => createTopic(api, `${config.eventsTopic}.api-made`))).toMatch(/AUTHORIZATION_FAILED/);
  });

  it('lets the worker user read events in its group and write dead letters, and nothing more', async () => {
    const worker = asRole('worker');
    expect(await outcome(() => produce(worker, config.eventsTopic, 'from-worker'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await readFirst(worker, config.eventsTopic, config.consumerGroup)).toBe('from-api');
    expect(await outcome(() => produce(worker, dlq, 'a-dead-letter'))).toBe('ok');
    // The broker answers GROUP_AUTHORIZATION_FAILED; kafkajs reports it as no coordinator found.
    expect(await outcome(() => readFirst(worker, config.eventsTopic, `${config.consumerGroup}-other`))).toMatch(
      /GROUP_AUTHORIZATION_FAILED|Failed to find group coordinator/,
    );
    expect(await outcome(() => createTopic(worker, `${config.eventsTopic}.worker-made`))).toMatch(/AUTHORIZATION_FAILED/);
  });

  it('refuses a wrong password', async () => {
    const impostor = testKafka({ ...config, sasl: { mechanism: 'scram-sha-512', username: ROLE_USERS.api, password: 'guessed' } });
    expect(await outcome(() => produce(impostor, config.eventsTopic, 'x'))).toMatch(/SASL SCRAM SHA512 authentication failed/);
  });
});

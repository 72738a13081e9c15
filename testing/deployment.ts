/**
 * StreamTrack on the test services as the shipped deployments run it: `init`
 * first (migrations, topics, schemas) with the privileged credentials, then
 * the API and the workers, which create nothing. Where the broker has role
 * users (the native stack), init also grants them the ACLs of
 * src/kafka/acls.ts on the test's own names, as k8s/'s KafkaUser objects grant
 * them on production's, and each process runs as its role (roleEnv).
 */
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { grantRoleAcls } from '../src/kafka/acls.js';
import { createKafka } from '../src/kafka/client.js';
import { createLogger } from '../src/logger.js';
import type { ServiceAddresses } from './services.js';

/** What the init job does for `env` (isolatedEnv's privileged credentials), plus the role ACLs. */
export async function initialize(services: ServiceAddresses, env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const kafka = createKafka(config.kafka, createLogger('silent', 'test-init'));
  await runSteps(bootstrapSteps(config, kafka));
  if (!services.kafkaRolePasswords) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await grantRoleAcls(admin, config.kafka);
  } finally {
    await admin.disconnect();
  }
}

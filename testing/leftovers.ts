/**
 * What a test run or a benchmark leaves in long-lived services: each test
 * file and each benchmark gets its own database, topics and consumer group
 * (test-config.ts), and against the services of `npm run services:up` they
 * stayed behind run after run (74 databases and 3.4 GB of topics in one
 * afternoon, which made the engine and the benchmarks measurably slower).
 * `removeAddedLater` notes what exists and removes, when called back, what
 * was added since.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { revokeRoleAcls } from '../src/kafka/acls.js';
import type { ServiceAddresses } from './services.js';
import { testKafka } from './kafka.js';
import { isolatedConfig } from './test-config.js';

interface TestObjects {
  databases: string[];
  topics: string[];
  groups: string[];
}

/** The names test-config.ts gives one run's objects: the run's id, then a random part per test file. */
function runPatterns(runId: string) {
  const id = `${runId}[0-9a-f]+`;
  return {
    database: new RegExp(`^test_${id}$`),
    topic: new RegExp(`^test\\.events\\.${id}(\\.dlq)?$`),
    // The topology's group and testing/kafka.ts's readers. Not bench:worker's
    // `-native` group: ClickHouse's Kafka engine leaves it on its own schedule.
    group: new RegExp(`^(test-topology-${id}|test-live-${id}-.*|reader-test\\.events\\.${id}(\\.dlq)?-\\d+)$`),
  };
}

interface Connections {
  clickhouse: ClickHouseClient;
  admin: Admin;
  /** The broker authorizes with ACLs (testing/deployment.ts grants some per test). */
  acls: boolean;
  patterns: ReturnType<typeof runPatterns>;
}

async function withConnections<T>(services: ServiceAddresses, work: (connections: Connections) => Promise<T>): Promise<T> {
  const clickhouse = createClient({ url: services.clickhouseUrl, username: services.clickhouseUser, password: services.clickhousePassword });
  const admin = testKafka(isolatedConfig(services).kafka).admin();
  await admin.connect();
  try {
    return await work({ clickhouse, admin, acls: services.kafkaRolePasswords !== undefined, patterns: runPatterns(services.runId) });
  } finally {
    await admin.disconnect();
    await clickhouse.close();
  }
}

/** This run's objects only: a concurrent run's on the same services are left alone. */
async function listTestObjects({ clickhouse, admin, patterns }: Connections): Promise<TestObjects> {
  const rows = await (await clickhouse.query({ query: 'SELECT name FROM system.databases', format: 'JSONEachRow' })).json<{ name: string }>();
  const { groups } = await admin.listGroups();
  return {
    databases: rows.map((r) => r.name).filter((name) => patterns.database.test(name)),
    topics: (await admin.listTopics()).filter((name) => patterns.topic.test(name)),
    groups: groups.map((g) => g.groupId).filter((id) => patterns.group.test(id)),
  };
}

/** Removes the test objects that were not there `before`; what fails to go is reported, not thrown. */
async function removeTestObjects(connections: Connections, before: TestObjects): Promise<string[]> {
  const { clickhouse, admin } = connections;
  const now = await listTestObjects(connections);
  const added = <T>(list: T[], earlier: T[]) => list.filter((item) => !earlier.includes(item));
  const problems: string[] = [];
  for (const database of added(now.databases, before.databases)) {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch((e: Error) => problems.push(`database ${database}: ${e.message}`));
  }
  const topics = added(now.topics, before.topics);
  if (connections.acls) {
    for (const topic of topics.filter((name) => !name.endsWith('.dlq'))) {
      const id = topic.split('.').pop();
      const names = { eventsTopic: topic, consumerGroup: `test-topology-${id}`, liveGroupPrefix: `test-live-${id}-` };
      await revokeRoleAcls(admin, names).catch((e: Error) => problems.push(`ACLs of ${topic}: ${e.message}`));
    }
  }
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch((e: Error) => problems.push(`topics: ${e.message}`));
  // One by one: kafkajs fails the whole call if any group still has members.
  for (const group of added(now.groups, before.groups)) {
    await admin.deleteGroups([group]).catch((e: Error) => problems.push(`consumer group ${group}: ${e.message}`));
  }
  return problems;
}

/** Notes the test objects that exist now; the function returned removes those added since, and warns of any it could not. */
export async function removeAddedLater(services: ServiceAddresses, label: string): Promise<() => Promise<void>> {
  const before = await withConnections(services, listTestObjects);
  return async () => {
    const problems = await withConnections(services, (connections) => removeTestObjects(connections, before));
    if (problems.length > 0) console.warn(`[${label}] test objects left behind:\n  ${problems.join('\n  ')}`);
  };
}

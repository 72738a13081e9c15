/**
 * What each StreamTrack process may do on Kafka, as ACLs on the names its
 * configuration gives: the API writes the events topic and reads it for the
 * live tail (GET /live/events) in consumer groups of its own prefix, and may
 * describe the worker's group and the dead-letter topic (their offsets, for
 * GET /pipeline); the worker reads the topic with its consumer group and
 * writes the dead-letter topic. Neither can create topics or read what it
 * does not need (init runs as a super user).
 *
 * Literal, except the live tail's groups: the dead-letter topic's name starts
 * with the events topic's (`<topic>.dlq`), so a prefix that let the worker
 * write its dead letters would let it write events too. The live tail makes
 * a new group per API process (never committed), so it needs a prefix; the
 * prefix is the API's own (KAFKA_LIVE_GROUP_PREFIX) and Describe on the
 * worker's group does not let it join or commit there. The init job's user
 * may create the two topics and nothing else.
 *
 * The deployments grant exactly these: k8s/kafka's KafkaUser objects (checked
 * against this by scripts/deploy-checks/k8s-security.test.ts). The tests
 * grant them to the native broker's role users for their own topics.
 */
import kafkajs, { type Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { deadLetterTopic } from './dead-letters.js';

/** The processes that run as a role user of their own on the native broker. */
export type KafkaRole = 'api' | 'worker';

// From the default export: Node's ESM loader does not see these among the CommonJS module's named exports (tsx and the benches run on it).
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
/** Every StreamTrack Kafka user of a deployment: the roles, and init, which creates the topics. */
export type KafkaUserRole = KafkaRole | 'init';

/** The SCRAM user of each role, on the native broker (scripts/services.sh) and in k8s/. */
export const ROLE_USERS: Record<KafkaRole, string> = { api: 'streamtrack-api', worker: 'streamtrack-worker' };

export type AclOperation = 'Read' | 'Write' | 'Describe' | 'Create';

export interface RoleAcl {
  resource: { type: 'topic' | 'group'; name: string; pattern: 'literal' | 'prefix' };
  operations: AclOperation[];
}

type KafkaNames = Pick<Config['kafka'], 'eventsTopic' | 'consumerGroup' | 'liveGroupPrefix'>;

export function roleAcls(role: KafkaUserRole, names: KafkaNames): RoleAcl[] {
  const topic = { type: 'topic', name: names.eventsTopic, pattern: 'literal' } as const;
  const dlq = { type: 'topic', name: deadLetterTopic(names.eventsTopic), pattern: 'literal' } as const;
  const workers = { type: 'group', name: names.consumerGroup, pattern: 'literal' } as const;
  switch (role) {
    // Tests run init as the native broker's super user; deployments as this.
    case 'init':
      return [
        { resource: topic, operations: ['Create', 'Describe'] },
        { resource: dlq, operations: ['Create', 'Describe'] },
      ];
    case 'api':
      return [
        { resource: topic, operations: ['Write', 'Read', 'Describe'] },
        { resource: { type: 'group', name: names.liveGroupPrefix, pattern: 'prefix' }, operations: ['Read'] },
        { resource: workers, operations: ['Describe'] },
        { resource: dlq, operations: ['Describe'] },
      ];
    case 'worker':
      return [
        { resource: topic, operations: ['Read', 'Describe'] },
        { resource: workers, operations: ['Read', 'Describe'] },
        { resource: dlq, operations: ['Write', 'Describe'] },
      ];
  }
}

const OPERATION = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  Create: AclOperationTypes.CREATE,
} as const;
const RESOURCE = { topic: AclResourceTypes.TOPIC, group: AclResourceTypes.GROUP } as const;

function aclEntries(role: KafkaRole, names: KafkaNames) {
  return roleAcls(role, names).flatMap(({ resource, operations }) =>
    operations.map((operation) => ({
      resourceType: RESOURCE[resource.type],
      resourceName: resource.name,
      resourcePatternType: resource.pattern === 'prefix' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal: `User:${ROLE_USERS[role]}`,
      host: '*',
      operation: OPERATION[operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

/** Grants both roles their ACLs on these names (the admin must be a super user). Idempotent. */
export async function grantRoleAcls(admin: Admin, names: KafkaNames): Promise<void> {
  await admin.createAcls({ acl: [...aclEntries('api', names), ...aclEntries('worker', names)] });
}

/** Removes what grantRoleAcls granted on these names. */
export async function revokeRoleAcls(admin: Admin, names: KafkaNames): Promise<void> {
  await admin.deleteAcls({ filters: [...aclEntries('api', names), ...aclEntries('worker', names)] });
}

/**
 * Least privilege in the rendered overlays: each process (API, worker, init
 * Job) connects to ClickHouse and Kafka as a user of its own, every password
 * comes from a Secret (none is a literal in a manifest), each KafkaUser's
 * ACLs are exactly what src/kafka/acls.ts says that process needs on the
 * overlay's topic and group, and the Kafka cluster StreamTrack expects
 * (k8s/kafka/) authenticates with SCRAM-SHA-512 and authorizes with ACLs.
 * The kustomize binary comes from scripts/deploy-checks/k8s.sh --install.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { DEFAULT_LIVE_GROUP_PREFIX } from '../../src/config.js';
import { roleAcls, type KafkaUserRole } from '../../src/kafka/acls.js';
import { ROOT, installKustomize, overlays, renderOverlay } from './k8s-overlays.js';


const Resource = z.object({ kind: z.string(), metadata: z.object({ name: z.string() }).passthrough() }).passthrough();
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
      configMapKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
    })
    .optional(),
});
type EnvVar = z.infer<typeof EnvVar>;
const Workload = z.object({
  kind: z.string(),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    template: z.object({ spec: z.object({ containers: z.array(z.object({ name: z.string(), env: z.array(EnvVar).default([]) })) }) }),
  }),
});
const KafkaUser = z.object({
  metadata: z.object({ name: z.string(), labels: z.record(z.string()) }),
  spec: z.object({
    authentication: z.object({ type: z.string() }),
    authorization: z.object({
      type: z.literal('simple'),
      acls: z.array(
        z.object({
          type: z.string().optional(),
          resource: z.object({ type: z.enum(['topic', 'group']), name: z.string(), patternType: z.string() }),
          operations: z.array(z.string()),
          host: z.string(),
        }),
      ),
    }),
  }),
});

interface Rendered {
  config: Record<string, string>;
  workloads: z.infer<typeof Workload>[];
  kafkaUsers: z.infer<typeof KafkaUser>[];
  all: string;
}

function render(overlay: string): Rendered {
  const { text: all, documents } = renderOverlay(overlay);
  const resources = documents.map((doc) => Resource.parse(doc));
  const ofKind = (kind: string) => resources.filter((r) => r.kind === kind);
  const config = ofKind('ConfigMap').find((c) => c.metadata.name.startsWith('streamtrack-config-'));
  return {
    config: z.object({ data: z.record(z.string()) }).parse(config).data,
    workloads: [...ofKind('Deployment'), ...ofKind('Job')].map((w) => Workload.parse(w)),
    kafkaUsers: ofKind('KafkaUser').map((u) => KafkaUser.parse(u)),
    all,
  };
}

/** Which process each workload runs, and so which users it must have. */
const ROLE_OF: Record<string, KafkaUserRole> = { 'streamtrack-api': 'api', 'streamtrack-worker': 'worker', 'streamtrack-init': 'init' };

beforeAll(installKustomize, 600_000);

describe.each(overlays)('k8s overlay %s', (overlay) => {
  it('runs each process as its own ClickHouse and Kafka user, passwords from Secrets only', () => {
    const { config, workloads } = render(overlay);
    expect(workloads.map((w) => w.metadata.name).sort()).toEqual(Object.keys(ROLE_OF).sort());
    expect(config.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    expect(config.CLICKHOUSE_USER, 'no user shared through the ConfigMap').toBeUndefined();
    const clickhouseUsers = new Set<string>();
    for (const workload of workloads) {
      const role = ROLE_OF[workload.metadata.name]!;
      for (const container of workload.spec.template.spec.containers) {
        const env = new Map(container.env.map((e): [string, EnvVar] => [e.name, e]));
        const where = `${workload.metadata.name}/${container.name}`;
        const chUser = env.get('CLICKHOUSE_USER')?.valueFrom?.configMapKeyRef;
        expect(chUser?.key, `${where}: CLICKHOUSE_USER from the ConfigMap`).toBe(`CLICKHOUSE_${role.toUpperCase()}_USER`);
        clickhouseUsers.add(config[chUser!.key]!);
        // dev generates the Secret, so its name carries a content hash there.
        expect(env.get('CLICKHOUSE_PASSWORD')?.valueFrom?.secretKeyRef, where).toEqual({
          name: expect.stringMatching(/^streamtrack-clickhouse(-[a-z0-9]+)?$/),
          key: `${role}-password`,
        });
        expect(env.get('KAFKA_SASL_USERNAME')?.value, where).toBe(`streamtrack-${role}`);
        // The Secret Strimzi's User Operator makes for the KafkaUser of that name.
        expect(env.get('KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef, where).toEqual({ name: `streamtrack-${role}`, key: 'password' });
        for (const variable of ['CLICKHOUSE_PASSWORD', 'KAFKA_SASL_PASSWORD']) expect(env.get(variable)?.value, `${where}: ${variable} literal`).toBeUndefined();
      }
    }
    expect(clickhouseUsers.size, `three distinct ClickHouse users: ${[...clickhouseUsers].join(', ')}`).toBe(3);
  });

  it("grants each KafkaUser exactly its process's ACLs on the overlay's topic and group", () => {
    const { config, kafkaUsers } = render(overlay);
    const names = {
      eventsTopic: config.KAFKA_EVENTS_TOPIC!,
      consumerGroup: config.KAFKA_CONSUMER_GROUP!,
      // Unset in the ConfigMaps: the API takes src/config.ts's default.
      liveGroupPrefix: config.KAFKA_LIVE_GROUP_PREFIX ?? DEFAULT_LIVE_GROUP_PREFIX,
    };
    expect(kafkaUsers.map((u) => u.metadata.name).sort()).toEqual(['streamtrack-api', 'streamtrack-init', 'streamtrack-worker']);
    for (const user of kafkaUsers) {
      const role = ROLE_OF[user.metadata.name]!;
      expect(user.metadata.labels['strimzi.io/cluster']).toBe('streamtrack');
      expect(user.spec.authentication.type).toBe('scram-sha-512');
      for (const acl of user.spec.authorization.acls) expect(acl.type ?? 'allow').toBe('allow');
      const granted = user.spec.authorization.acls.map((a) => ({
        resource: { type: a.resource.type, name: a.resource.name, pattern: a.resource.patternType },
        operations: a.operations,
      }));
      expect(granted, user.metadata.name).toEqual(roleAcls(role, names));
    }
  });

  it('has no Kafka credentials and no password variable in any manifest', () => {
    const { all } = render(overlay);
    expect(all).not.toMatch(/sasl\.jaas\.config|password=|PASSWORD: /);
  });
});

describe('the Kafka cluster StreamTrack expects (k8s/kafka/)', () => {
  it('takes SCRAM-SHA-512 on the listener the ConfigMaps name, authorizes by ACL, and makes the users of the StreamTrack namespace', () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'k8s/kafka/kafka-streamtrack.yaml'), 'utf8')).map((d) => d.toJS() as unknown);
    const kafka = z
      .object({
        kind: z.literal('Kafka'),
        metadata: z.object({ name: z.literal('streamtrack') }),
        spec: z.object({
          kafka: z.object({
            listeners: z.array(z.object({ name: z.string(), port: z.number(), authentication: z.object({ type: z.string() }).optional() })),
            authorization: z.object({ type: z.string(), superUsers: z.array(z.string()).optional() }),
            config: z.record(z.unknown()),
          }),
          entityOperator: z.object({ userOperator: z.object({ watchedNamespace: z.string() }) }),
        }),
      })
      .parse(docs.find((d) => Resource.safeParse(d).data?.kind === 'Kafka'));
    const { listeners, authorization, config } = kafka.spec.kafka;
    for (const listener of listeners) expect(listener.authentication?.type, `listener ${listener.name}`).toBe('scram-sha-512');
    expect(listeners.map((l) => l.port)).toContain(Number(render('prod').config.KAFKA_BROKERS!.split(':').pop()));
    expect(authorization).toEqual({ type: 'simple' });
    expect(config['auto.create.topics.enable']).toBe(false);
    expect(kafka.spec.entityOperator.userOperator.watchedNamespace).toBe('streamtrack-prod');
  });
});

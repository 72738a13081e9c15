/**
 * What the manifests must agree on with the app and with Kafka, per overlay
 * as rendered by kustomize: KEDA never runs more workers than the topic has
 * partitions (extra consumers sit idle), it watches the group and topic the
 * workers consume, and every probe asks the process for an endpoint it serves.
 * The kustomize binary comes from scripts/deploy-checks/k8s.sh --install.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installKustomize, overlays, renderOverlay } from './k8s-overlays.js';

/**
 * The HTTP endpoints each process serves, the ConfigMap keys of its address,
 * and where its /metrics is (the API's on its operations port).
 */
const SERVED = {
  api: {
    port: 8080,
    portKey: 'API_PORT',
    hostKey: 'API_HOST',
    liveness: '/healthz',
    readiness: '/readyz',
    metrics: { port: 9465, portKey: 'API_OPS_PORT', hostKey: 'API_OPS_HOST' },
  },
  worker: {
    port: 9464,
    portKey: 'WORKER_HTTP_PORT',
    hostKey: 'WORKER_HTTP_HOST',
    liveness: '/healthz',
    readiness: '/readyz',
    metrics: { port: 9464, portKey: 'WORKER_HTTP_PORT', hostKey: 'WORKER_HTTP_HOST' },
  },
} as const;
type Process = keyof typeof SERVED;

const Named = z.object({ kind: z.string(), metadata: z.object({ name: z.string() }) });

const ConfigMap = z.object({ metadata: z.object({ name: z.string() }), data: z.record(z.string()) });

const HttpProbe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.number(), z.string()]) }) });
const Container = z.object({
  name: z.string(),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number() })).default([]),
  startupProbe: HttpProbe.optional(),
  livenessProbe: HttpProbe.optional(),
  readinessProbe: HttpProbe.optional(),
});
type Container = z.infer<typeof Container>;
const Deployment = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    template: z.object({
      metadata: z.object({ annotations: z.record(z.string()).default({}) }),
      spec: z.object({ containers: z.array(Container) }),
    }),
  }),
});

const ScaledObject = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    scaleTargetRef: z.object({ name: z.string() }),
    minReplicaCount: z.number().int(),
    maxReplicaCount: z.number().int(),
    triggers: z.array(z.object({ type: z.string(), metadata: z.record(z.string()) })),
  }),
});

interface Rendered {
  config: Record<string, string>;
  deployments: z.infer<typeof Deployment>[];
  scaledObjects: z.infer<typeof ScaledObject>[];
}

const renders = new Map<string, Rendered>();

function render(overlay: string): Rendered {
  const cached = renders.get(overlay);
  if (cached) return cached;
  const resources = renderOverlay(overlay).documents;
  const ofKind = (kind: string) => resources.filter((r) => Named.parse(r).kind === kind);
  // The generated ConfigMap's name carries a content hash.
  const configMaps = ofKind('ConfigMap')
    .map((r) => ConfigMap.parse(r))
    .filter((c) => c.metadata.name.startsWith('streamtrack-config-'));
  expect(configMaps, `${overlay}: one streamtrack-config ConfigMap`).toHaveLength(1);
  const rendered: Rendered = {
    config: configMaps[0]?.data ?? {},
    deployments: ofKind('Deployment').map((r) => Deployment.parse(r)),
    scaledObjects: ofKind('ScaledObject').map((r) => ScaledObject.parse(r)),
  };
  renders.set(overlay, rendered);
  return rendered;
}

/** The container port a probe reaches: a number, or the name of a declared port. */
function probePort(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports.find((p) => p.name === port)?.containerPort;
}

beforeAll(installKustomize, 600_000);

describe('k8s overlays', () => {
  it('include dev and prod', () => {
    expect(overlays).toEqual(expect.arrayContaining(['dev', 'prod']));
  });

  describe.each(overlays)('%s', (overlay) => {
    it('scales workers on the group and topic they consume, never past the partition count', () => {
      const { config, deployments, scaledObjects } = render(overlay);
      const partitions = Number(config.KAFKA_EVENTS_PARTITIONS);
      expect(Number.isInteger(partitions) && partitions > 0, `KAFKA_EVENTS_PARTITIONS=${config.KAFKA_EVENTS_PARTITIONS}`).toBe(true);
      expect(scaledObjects.length).toBeGreaterThan(0);
      for (const scaled of scaledObjects) {
        const { minReplicaCount, maxReplicaCount, scaleTargetRef, triggers } = scaled.spec;
        expect(maxReplicaCount, `${scaled.metadata.name}: maxReplicaCount <= partitions`).toBeLessThanOrEqual(partitions);
        expect(minReplicaCount).toBeGreaterThanOrEqual(1);
        expect(minReplicaCount).toBeLessThanOrEqual(maxReplicaCount);
        expect(deployments.map((d) => d.metadata.name)).toContain(scaleTargetRef.name);
        const kafka = triggers.filter((t) => t.type === 'kafka');
        expect(kafka.length).toBeGreaterThan(0);
        for (const { metadata } of kafka) {
          expect(metadata.consumerGroup).toBe(config.KAFKA_CONSUMER_GROUP);
          expect(metadata.topic).toBe(config.KAFKA_EVENTS_TOPIC);
          expect(metadata.bootstrapServers).toBe(config.KAFKA_BROKERS);
          expect(metadata.allowIdleConsumers).toBe('false');
        }
      }
    });

    it('probes and scrapes only endpoints the processes serve, on their configured ports', () => {
      const { config, deployments } = render(overlay);
      expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['streamtrack-api', 'streamtrack-worker']);
      for (const deployment of deployments) {
        const { containers } = deployment.spec.template.spec;
        for (const container of containers) {
          expect(Object.keys(SERVED), `${deployment.metadata.name}: container ${container.name}`).toContain(container.name);
          const served = SERVED[container.name as Process];
          expect(config[served.portKey], `${served.portKey} in the ConfigMap`).toBe(String(served.port));
          // The kubelet and Prometheus connect to the pod's IP, not to loopback.
          expect(config[served.hostKey], `${served.hostKey} in the ConfigMap`).toBe('0.0.0.0');
          const probes = {
            startup: [container.startupProbe, served.liveness],
            liveness: [container.livenessProbe, served.liveness],
            readiness: [container.readinessProbe, served.readiness],
          } as const;
          for (const [role, [probe, path]] of Object.entries(probes)) {
            const where = `${deployment.metadata.name}/${container.name} ${role} probe`;
            expect(probe, where).toBeDefined();
            expect(probe?.httpGet.path, where).toBe(path);
            expect(probe && probePort(container, probe.httpGet.port), where).toBe(served.port);
          }
          expect(config[served.metrics.portKey], `${served.metrics.portKey} in the ConfigMap`).toBe(String(served.metrics.port));
          expect(config[served.metrics.hostKey], `${served.metrics.hostKey} in the ConfigMap`).toBe('0.0.0.0');
          expect(container.ports.map((p) => p.containerPort), `${deployment.metadata.name}: the metrics port is declared`).toContain(served.metrics.port);
          expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(served.metrics.port));
        }
      }
    });
  });
});

/**
 * GET /pipeline: the pipeline's health as the API can see it, for the UI's
 * Pipeline page and any client: events per second into the topic (from its
 * end offsets, sampled by this process), the workers' lag per partition,
 * dead letters, each topology's watermark, open windows and late events, and
 * the event schema's versions in the registry. These are the whole
 * installation's figures, not one project's (as `/stats`'s watermark is):
 * counts and times only, never an event. `stats:read`; a token confined to
 * one user is refused.
 *
 * Each part is read on its own: one that fails is named in `unavailable`
 * and the others still answer. Kafka and the registry are asked at most once
 * a second per process, whatever the number of clients.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import { deadLetterTopic } from '../kafka/dead-letters.js';
import type { TopicOffsets } from '../kafka/topic-offsets.js';
import { topologyProgress } from '../storage/pipeline-query.js';
import { forbidden, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, errorResponse } from './errors.js';
import { iso, queryParameters, refuseInvalidParameters } from './params.js';

const RATE_WINDOW_MS = 60_000;
const KAFKA_CACHE_MS = 1_000;
/** A part that takes longer is reported unavailable: the answer never waits on a broker's retries. */
const PART_TIMEOUT_MS = 3_000;

function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${PART_TIMEOUT_MS} ms`)), PART_TIMEOUT_MS);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const PartitionSchema = z.object({ partition: z.number().int(), end: z.number().int(), start: z.number().int() });

export const PipelineSchema = z
  .object({
    at: z.string().openapi({ description: 'When this was read (ISO-8601 UTC)' }),
    events_topic: z
      .object({
        name: z.string(),
        partitions: z.array(PartitionSchema),
        events_per_second: z.number().nullable().openapi({ description: 'Records into the topic per second over the last minute this process sampled; null until it has two samples a second apart' }),
      })
      .nullable(),
    consumer_group: z
      .object({
        name: z.string(),
        total_lag: z.number().int(),
        partitions: z.array(z.object({ partition: z.number().int(), committed: z.number().int().nullable(), lag: z.number().int() })),
      })
      .nullable(),
    dead_letters: z
      .object({ topic: z.string(), total: z.number().int().openapi({ description: 'Records ever written to the dead-letter topic' }), kept: z.number().int() })
      .nullable(),
    topologies: z
      .array(
        z.object({
          topology: z.string(),
          watermark: z.string().openapi({ description: 'The lowest watermark over its partitions: windows ending (plus the grace) before it are final' }),
          open_windows: z.number().int(),
          late_events: z.number().int().openapi({ description: 'Events that arrived after their window closed, all projects' }),
          partitions: z.array(z.object({ partition: z.number().int(), watermark: z.string() })),
        }),
      )
      .nullable(),
    schemas: z
      .object({ subject: z.string(), versions: z.array(z.object({ version: z.number().int(), id: z.number().int() })) })
      .nullable(),
    unavailable: z.array(z.string()).openapi({ description: 'The parts that could not be read now, each with why' }),
  })
  .openapi('Pipeline');

export type Pipeline = z.infer<typeof PipelineSchema>;

export const pipelineRoute = createRoute({
  method: 'get',
  path: '/',
  summary: "The pipeline's health: throughput, lag, dead letters, watermarks, schema versions",
  description: "The whole installation's figures (counts and times, no event). A part that cannot be read is null and named in `unavailable`.",
  request: { query: queryParameters({}) },
  responses: {
    200: { description: 'The pipeline now', content: { 'application/json': { schema: PipelineSchema } } },
    400: errorResponse('`invalid_parameter`: the route takes no parameter'),
    ...ACCESS_ERROR_RESPONSES,
  },
});

export interface PipelineDeps {
  clickhouse: ClickHouseClient;
  offsets: TopicOffsets;
  access: AccessControl;
  topic: string;
  consumerGroup: string;
  schemaRegistryUrl: string;
  subject: string;
  now?: () => number;
}

type KafkaParts = Pick<Pipeline, 'events_topic' | 'consumer_group' | 'dead_letters' | 'schemas'> & { unavailable: string[] };

const reason = (part: string, error: unknown) => `${part}: ${(error as Error).message}`;

export function createPipelineRoutes(deps: PipelineDeps) {
  const { now = Date.now } = deps;
  const samples: Array<{ at: number; total: number }> = [];
  let cached: { at: number; parts: Promise<KafkaParts> } | undefined;

  function rate(at: number, total: number): number | null {
    samples.push({ at, total });
    while (samples.length > 2 && samples[1]!.at <= at - RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    return at - first.at >= 1_000 ? ((total - first.total) * 1_000) / (at - first.at) : null;
  }

  async function schemaVersions(): Promise<Pipeline['schemas']> {
    const base = new URL(`/subjects/${encodeURIComponent(deps.subject)}/versions`, deps.schemaRegistryUrl);
    const listed = await fetch(base, { signal: AbortSignal.timeout(2_000) });
    if (!listed.ok) throw new Error(`HTTP ${listed.status}`);
    const versions = (await listed.json()) as number[];
    const described = await Promise.all(
      versions.map(async (version) => {
        const answer = await fetch(`${base}/${version}`, { signal: AbortSignal.timeout(2_000) });
        if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
        return { version, id: ((await answer.json()) as { id: number }).id };
      }),
    );
    return { subject: deps.subject, versions: described };
  }

  async function readKafka(at: number): Promise<KafkaParts> {
    const unavailable: string[] = [];
    const [events, dlq, schemas] = await Promise.allSettled([
      within(deps.offsets.offsets(deps.topic), 'Kafka'),
      within(deps.offsets.offsets(deadLetterTopic(deps.topic)), 'Kafka'),
      within(schemaVersions(), 'the schema registry'),
    ]);
    let events_topic: Pipeline['events_topic'] = null;
    let consumer_group: Pipeline['consumer_group'] = null;
    if (events.status === 'fulfilled') {
      const total = events.value.reduce((sum, p) => sum + p.end, 0);
      events_topic = { name: deps.topic, partitions: events.value, events_per_second: rate(at, total) };
      try {
        const lag = await within(deps.offsets.lag(deps.consumerGroup, deps.topic, events.value), 'Kafka');
        consumer_group = { name: deps.consumerGroup, total_lag: lag.reduce((sum, p) => sum + p.lag, 0), partitions: lag };
      } catch (error) {
        unavailable.push(reason('consumer_group', error));
      }
    } else unavailable.push(reason('events_topic', events.reason), `consumer_group: needs the events topic's offsets`);
    const dead_letters =
      dlq.status === 'fulfilled'
        ? { topic: deadLetterTopic(deps.topic), total: dlq.value.reduce((s, p) => s + p.end, 0), kept: dlq.value.reduce((s, p) => s + p.end - p.start, 0) }
        : (unavailable.push(reason('dead_letters', dlq.reason)), null);
    const schemaPart = schemas.status === 'fulfilled' ? schemas.value : (unavailable.push(reason('schemas', schemas.reason)), null);
    return { events_topic, consumer_group, dead_letters, schemas: schemaPart, unavailable };
  }

  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(deps.access.reads('stats:read'));
  return routes.openapi(pipelineRoute, async (c) => {
    if (c.get('principal').userId !== undefined) throw forbidden("the pipeline's figures cover every user; this token reads its own user only");
    const at = now();
    if (!cached || at - cached.at >= KAFKA_CACHE_MS) cached = { at, parts: readKafka(at) };
    const [kafka, progress] = await Promise.all([cached.parts, topologyProgress(deps.clickhouse).then((p) => ({ ok: true as const, p }), (error: unknown) => ({ ok: false as const, error }))]);
    const body: Pipeline = {
      at: iso(at),
      events_topic: kafka.events_topic,
      consumer_group: kafka.consumer_group,
      dead_letters: kafka.dead_letters,
      schemas: kafka.schemas,
      topologies: progress.ok
        ? progress.p.map((t) => ({
            topology: t.topology,
            watermark: iso(t.watermark),
            open_windows: t.open_windows,
            late_events: t.late_events,
            partitions: t.partitions.map((p) => ({ partition: p.partition, watermark: iso(p.watermark) })),
          }))
        : null,
      unavailable: [...kafka.unavailable, ...(progress.ok ? [] : [reason('topologies', progress.error)])],
    };
    c.header('Cache-Control', 'no-store');
    return c.json(body, 200);
  });
}

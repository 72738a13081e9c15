/**
 * Every Prometheus metric StreamTrack exports, in one place: the Grafana
 * dashboard (monitoring/grafana/) uses exactly these names, and a test checks it.
 * Each process gets its own registry with Node's default process metrics
 * (memory, CPU, event-loop lag) beside its own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: from sub-millisecond produce calls up to sink writes stuck behind retries. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Records per batch: single events up to full fetches. */
const SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * A counter by one label whose hot path adds to a plain Map, folded into
 * prom-client when the registry is collected (a scrape of /metrics), so a
 * scrape reads the same totals. prom-client's own `inc` builds, checks and
 * hashes a label object on every call: about 0.5 us of a single-event
 * /track (bench:track profile), where this is a Map lookup.
 */
interface TalliedCounter {
  add(labelValue: string | number, n: number): void;
}

function talliedCounter(config: { name: string; help: string; labelName: string; registry: Registry }): TalliedCounter {
  const pending = new Map<string | number, number>();
  new Counter({
    name: config.name,
    help: config.help,
    labelNames: [config.labelName],
    registers: [config.registry],
    collect() {
      for (const [value, n] of pending) this.inc({ [config.labelName]: value }, n);
      pending.clear();
    },
  });
  return { add: (value, n) => pending.set(value, (pending.get(value) ?? 0) + n) };
}

function processRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createApiMetrics() {
  const registry = processRegistry('api');
  return {
    registry,
    // Its `_count` is the count of requests answered: a counter beside it
    // would cost every request a second label hash for the same number.
    httpDuration: new Histogram({
      name: 'streamtrack_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern, method and status (`_count`: requests answered)',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    eventsAccepted: talliedCounter({
      name: 'streamtrack_events_accepted_total',
      help: 'Events accepted by POST /track and acknowledged by Kafka, by writer schema id',
      labelName: 'schema_id',
      registry,
    }),
    eventsRefused: talliedCounter({
      name: 'streamtrack_events_refused_total',
      help: "Events refused by POST /track, by the code of the event's first problem",
      labelName: 'reason',
      registry,
    }),
    produceDuration: new Histogram({
      name: 'streamtrack_kafka_produce_duration_seconds',
      help: 'Time for Kafka to acknowledge one produce batch',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    produceBatch: new Histogram({
      name: 'streamtrack_kafka_produce_batch_records',
      help: 'Records per produce batch (requests lingered together)',
      buckets: SIZE_BUCKETS,
      registers: [registry],
    }),
    liveStreams: new Gauge({
      name: 'streamtrack_live_streams',
      help: 'GET /live/events streams open in this process',
      registers: [registry],
    }),
    liveEventsDropped: new Counter({
      name: 'streamtrack_live_events_dropped_total',
      help: 'Live events dropped for streams whose readers fell behind (each such stream is told how many)',
      registers: [registry],
    }),
    produceFailures: new Counter({
      name: 'streamtrack_kafka_produce_failures_total',
      help: 'Produce batches Kafka did not acknowledge in time',
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createWorkerMetrics() {
  const registry = processRegistry('worker');
  return {
    registry,
    consumerLag: new Gauge({
      name: 'streamtrack_consumer_lag',
      help: "Records behind the partition's high watermark after this member's last batch, per assigned partition",
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    batchRecords: new Histogram({
      name: 'streamtrack_consumer_batch_records',
      help: 'Records per consumed partition batch',
      buckets: SIZE_BUCKETS,
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'streamtrack_consumer_batch_duration_seconds',
      help: 'Time from fetching a partition batch to committing it',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    eventsProcessed: new Counter({
      name: 'streamtrack_worker_events_total',
      help: 'Consumed records by outcome: stored, duplicate (an event_id already stored), dead_lettered (undecodable) or quarantined (refused by the events table, moved to the dead-letter topic)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    sinkWriteDuration: new Histogram({
      name: 'streamtrack_sink_write_duration_seconds',
      help: 'Time of one successful write to a sink (ClickHouse tables, the dead-letter topic)',
      labelNames: ['sink'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    sinkWriteFailures: new Counter({
      name: 'streamtrack_sink_write_failures_total',
      help: 'Failed sink writes (each is retried while the partition is owned)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    rowsRefused: new Counter({
      name: 'streamtrack_sink_rows_refused_total',
      help: 'Rows a ClickHouse table refused on their own (a value it cannot take), split out of their insert so the rest is stored: raw events go to the dead-letter topic, derived rows (window results, checkpoints) are logged and dropped',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    windowsShed: new Counter({
      name: 'streamtrack_windows_shed_total',
      help: "Events counted in an overflow bucket because a cap was reached, by topology and cap: window (a partition's open windows: counted under the user $other) or action (a window's distinct actions: counted under the action $other)",
      labelNames: ['topology', 'cap'] as const,
      registers: [registry],
    }),
    windowsEmitted: new Counter({
      name: 'streamtrack_windows_emitted_total',
      help: 'Window results written, by topology and kind: update (rolling, before the window closes), final, or retract (a session merged away)',
      labelNames: ['topology', 'kind'] as const,
      registers: [registry],
    }),
    lateEvents: new Counter({
      name: 'streamtrack_late_events_total',
      help: 'Events that arrived after their window closed (past the grace period), by topology',
      labelNames: ['topology'] as const,
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** Seconds since `start` (a `performance.now()` reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

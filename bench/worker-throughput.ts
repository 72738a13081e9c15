/**
 * Sustained throughput of one topology worker (decode + windows + raw and
 * window sinks), beside the native path measured in the same run on the same
 * topic: ClickHouse's own Kafka table engine (AvroConfluent, through the same
 * Schema Registry) feeding a MergeTree. Then the memory of window state with
 * 1,000,000 users in open windows, in process.
 *
 *   npm run bench:worker                 # 200,000 events
 *   EVENTS=300000 USERS=20000 npm run bench:worker
 *   NATIVE=0 npm run bench:worker        # the worker alone (ratios print NaN)
 *
 * The topic is filled first, so both consumers read as fast as they can.
 * The native table has every column of `events` that the AvroConfluent
 * format can map (all but properties and context: a map of unions and a
 * nullable record) and no views: the raw path alone, against the worker's
 * raw events, windows, rollups and checkpoints.
 *
 * Two rates for each: sustained, from the first insert of raw events to the
 * run's last write (rows of the first insert left out; for the worker, the
 * last round's window results, written after its raw events), and the whole
 * run, from the consumer's start (group join and, for the worker, its own
 * start) until it is done (for the worker: every record committed).
 */
import os from 'node:os';
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { loadConfig, type KafkaSasl } from '../src/config.js';
import { validateEvent } from '../src/ingestion/validate-event.js';
import { createKafka } from '../src/kafka/client.js';
import { DEFAULT_PUBLISHER_SETTINGS, createPublisher } from '../src/kafka/publisher.js';
import { createLogger } from '../src/logger.js';
import { messageDefaults, type TrackedEvent } from '../src/model/event.js';
import { createRegistry, readerType, valueSubject } from '../src/serde/event-schemas.js';
import { encodeAvroFrame } from '../src/serde/wire-format.js';
import { activityAggregator } from '../src/stream/aggregates.js';
import { WindowStore } from '../src/stream/window-store.js';
import { minutes, seconds, tumbling } from '../src/stream/windows.js';
import { createClickHouse } from '../src/storage/clickhouse.js';
import { cpuSeconds, machineCpuSeconds, rssMb, spawnStreamtrack } from '../testing/processes.js';
import { uncommittedRecords } from '../testing/kafka.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices, type ServiceAddresses } from '../testing/services.js';
import { isolatedEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';
import { median } from './stats.js';

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const USERS = Number(process.env.USERS ?? 5_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** NATIVE=0: the worker alone, without the Kafka engine's baseline (where that engine does not consume). */
const NATIVE = process.env.NATIVE !== '0';
const PARTITIONS = 12;
const NATIVE_COLUMNS = `event_id UUID, project_id LowCardinality(String), user_id String, action LowCardinality(String),
  timestamp DateTime64(3, 'UTC'), sent_at Nullable(DateTime64(3, 'UTC')), received_at DateTime64(3, 'UTC'), session_id Nullable(String),
  warnings Array(LowCardinality(String))`;
const NATIVE_SELECT = 'event_id, project_id, user_id, action, timestamp, sent_at, received_at, session_id, warnings';
const START = Date.parse('2026-01-01T00:00:00Z');

interface RoundResult {
  nativeSustained: number;
  nativeSeconds: number;
  workerSustained: number;
  workerSeconds: number;
  workerCpu: number;
  machineCores: number;
  peakRss: number;
  windows: number;
}

/** One round on a topic, consumer group and database of its own: the native path, then the worker. */
async function measureRound(services: ServiceAddresses): Promise<RoundResult> {
  const env = isolatedEnv(services, { LOG_LEVEL: 'warn', KAFKA_EVENTS_PARTITIONS: String(PARTITIONS) });
  const config = loadConfig(env);
  const logger = createLogger('warn', 'bench');
  const kafka = createKafka(config.kafka, logger);
  const clickhouse = createClickHouse(config.clickhouse);
  /**
   * Events/s between a table's first insert and the last write of the run,
   * from the rows' insert times: the steady rate, without the consumer's
   * start and group join (the first insert's rows are left out, their time
   * being the start). `lastWrite`: a query for the time of the run's last
   * write, when that is not the table's own last insert (the worker writes
   * its window results after a round's raw events).
   */
  const sustainedRate = async (table: string, lastWrite = `SELECT max(stored_at) FROM ${table}`) => {
    const result = await clickhouse.query({
      query: `SELECT countIf(stored_at > (SELECT min(stored_at) FROM ${table})) AS after_first,
                     toUnixTimestamp64Milli((${lastWrite})) - toUnixTimestamp64Milli(min(stored_at)) AS ms
              FROM ${table}`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await result.json<{ after_first: number; ms: number }>();
    return row && row.ms > 0 ? row.after_first / (row.ms / 1000) : Number.NaN;
  };
  const count = async (sql: string) => Number(((await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0])?.n ?? 0);
  try {
    await runSteps(bootstrapSteps(config, kafka));
    const registry = createRegistry(config.schemaRegistry.url);
    const schemaId = await registry.getLatestSchemaId(valueSubject(config.kafka.eventsTopic));
    // The newest version in schemas/: the subject's latest, whose id the records carry.
    const type = await readerType();

    // Fill the topic: one hour of traffic in time order.
    const publisher = createPublisher(kafka, { ...DEFAULT_PUBLISHER_SETTINGS, timeoutMs: 60_000 });
    for (let i = 0; i < EVENTS; i += 5_000) {
      const records = [];
      for (let j = i; j < Math.min(EVENTS, i + 5_000); j++) {
        const body = { user_id: `user_${j % USERS}`, action: ['view', 'click', 'buy'][j % 3], timestamp: START + Math.floor((j / EVENTS) * 3_600_000), properties: { amount: j % 100 } };
        const result = validateEvent(body, type, START + 3_600_000);
        if (!result.ok) throw new Error(JSON.stringify(result.errors));
        records.push({ key: result.value.user_id, value: encodeAvroFrame(schemaId, type, result.value) });
      }
      await publisher.publish(config.kafka.eventsTopic, records);
    }
    await publisher.close();

    let nativeSeconds = Number.NaN;
    let nativeSustained = Number.NaN;
    if (NATIVE) {
      // Native path: ClickHouse's Kafka engine -> materialized view -> MergeTree.
      // Flushed every 250 ms or 65,536 rows: with the defaults (a block of about
      // a million rows or 7.5 s) a topic of 100,000 events is one flush on a
      // timer, and its time measures that timer, not the engine.
      const nativeStarted = performance.now();
      await clickhouse.command({
        query: `CREATE TABLE native_queue (${NATIVE_COLUMNS})
                ENGINE = Kafka SETTINGS kafka_broker_list = '${config.kafka.brokers.join(',')}', kafka_topic_list = '${config.kafka.eventsTopic}',
                kafka_group_name = '${config.kafka.consumerGroup}-native', kafka_format = 'AvroConfluent',
                format_avro_schema_registry_url = '${config.schemaRegistry.url}', kafka_num_consumers = 1,
                kafka_max_block_size = 65536, kafka_flush_interval_ms = 250${kafkaEngineSasl(config.kafka.sasl)}`,
      });
      await clickhouse.command({
        query: `CREATE TABLE native_events (${NATIVE_COLUMNS}, stored_at DateTime64(3) DEFAULT now64(3))
                ENGINE = MergeTree ORDER BY (project_id, user_id, timestamp, event_id)`,
      });
      await clickhouse.command({ query: `CREATE MATERIALIZED VIEW native_mv TO native_events AS SELECT ${NATIVE_SELECT} FROM native_queue` });
      await waitFor(async () => ((await count('SELECT count() AS n FROM native_events')) >= EVENTS ? true : undefined), {
        timeoutMs: 600_000,
        intervalMs: 200,
        what: 'the Kafka engine to consume every event',
      });
      nativeSeconds = (performance.now() - nativeStarted) / 1000;
      nativeSustained = await sustainedRate('native_events');
      await clickhouse.command({ query: 'DROP TABLE native_mv' });
      await clickhouse.command({ query: 'DROP TABLE native_queue' });
    }

    // One StreamTrack worker over the same topic.
    const worker = spawnStreamtrack('worker', env);
    let peakRss = 0;
    const sampler = setInterval(() => void rssMb(worker.child.pid).then((mb) => (peakRss = Math.max(peakRss, mb || 0))), 200);
    const workerStarted = performance.now();
    const machineBefore = await machineCpuSeconds();
    // Done once every record is committed: the last round's window results,
    // written after its raw events, are then stored too.
    await waitFor(
      async () => ((await uncommittedRecords(kafka, config.kafka.eventsTopic, config.kafka.consumerGroup)) === 0 ? true : undefined),
      { timeoutMs: 900_000, intervalMs: 200, what: `the worker to commit every record\n${worker.output()}` },
    );
    const workerSeconds = (performance.now() - workerStarted) / 1000;
    const workerCpu = await cpuSeconds(worker.child.pid);
    const machineAfter = await machineCpuSeconds();
    const machineCores = (machineAfter.busy - machineBefore.busy) / ((machineAfter.total - machineBefore.total) / os.availableParallelism());
    const workerSustained = await sustainedRate(
      'events',
      'SELECT greatest((SELECT max(stored_at) FROM events), (SELECT max(emitted_at) FROM agg_user_activity_changes))',
    );
    clearInterval(sampler);
    const windows = await count('SELECT count() AS n FROM agg_user_activity_1m FINAL');
    await worker.stop();
    return { nativeSustained, nativeSeconds, workerSustained, workerSeconds, workerCpu, machineCores, peakRss, windows };
  } finally {
    await clickhouse.close();
  }
}

/** RSS added by 1,000,000 users' open 1-minute windows, in this process. */
async function windowStateRss(): Promise<{ windows: number; mb: number }> {
  const store = new WindowStore<TrackedEvent, ReturnType<ReturnType<typeof activityAggregator>['init']>>({
    spec: tumbling(minutes(1)),
    graceMs: seconds(30),
    emit: { kind: 'rolling', everyMs: seconds(10) },
    late: 'drop',
    key: (e) => e.user_id,
    time: (e) => e.timestamp,
    aggregator: activityAggregator({ numericProperties: ['amount'] }),
  });
  global.gc?.();
  const rssBefore = await rssMb();
  const users = 1_000_000;
  for (let i = 0; i < users; i++) {
    store.add(
      { event_id: '', project_id: 'default', user_id: `user_${i}`, action: 'view', timestamp: START + (i % 50_000), sent_at: null, received_at: START, session_id: null, properties: { amount: 1 }, context: null, warnings: [], ...messageDefaults() },
      BigInt(i),
    );
  }
  const rssWith = await rssMb();
  return { windows: store.stats().openWindows, mb: rssWith - rssBefore };
}

/** The Kafka engine's settings for a broker that authenticates (scripts/services.sh's does). */
function kafkaEngineSasl(sasl: KafkaSasl | undefined): string {
  if (!sasl) return '';
  const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `, kafka_security_protocol = 'sasl_plaintext', kafka_sasl_mechanism = 'SCRAM-SHA-512',
              kafka_sasl_username = ${quote(sasl.username)}, kafka_sasl_password = ${quote(sasl.password)}`;
}

async function main() {
  const services = await startServices();
  try {
    console.log(`One worker vs ClickHouse's Kafka engine, ${EVENTS} events over ${USERS} users, ${PARTITIONS} partitions, ${ROUNDS} rounds`);
    const rate = (n: number) => n.toFixed(0).padStart(8);
    const ratios: number[] = [];
    const workerRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // A round leaves a topic of EVENTS records and tables of several times
      // that: kept, they would slow the next round (and the services' later runs).
      const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
      let r: RoundResult;
      try {
        r = await measureRound(services.addresses);
      } finally {
        await removeLeftovers();
      }
      ratios.push(r.workerSustained / r.nativeSustained);
      workerRates.push(r.workerSustained);
      console.log(`round ${round}                                        sustained      whole run (with start)`);
      console.log(`  native Kafka engine -> MergeTree (baseline) ${rate(r.nativeSustained)} events/s ${rate(EVENTS / r.nativeSeconds)} events/s (${r.nativeSeconds.toFixed(1)} s)`);
      console.log(`  StreamTrack worker (decode, windows, sinks) ${rate(r.workerSustained)} events/s ${rate(EVENTS / r.workerSeconds)} events/s (${r.workerSeconds.toFixed(1)} s, ${r.windows} minute windows)`);
      console.log(`  ratio worker : native                       ${ratios.at(-1)!.toFixed(2).padStart(8)}          ${(r.nativeSeconds / r.workerSeconds).toFixed(2).padStart(8)}`);
      console.log(`  worker peak RSS                              ${r.peakRss.toFixed(0)} MB`);
      console.log(`  worker CPU (with its start)                  ${r.workerCpu.toFixed(1)} s, ${((r.workerCpu / EVENTS) * 1e6).toFixed(1)} µs/event; the machine ${r.machineCores.toFixed(2)} of ${os.availableParallelism()} cores busy meanwhile`);
    }
    const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(', ');
    console.log(`worker sustained, median of rounds            ${rate(median(workerRates))} events/s   (rounds: ${list(workerRates, 0)})`);
    console.log(`ratio worker : native, median of rounds       ${median(ratios).toFixed(2).padStart(8)}            (rounds: ${list(ratios, 2)})`);
    const state = await windowStateRss();
    console.log(`1,000,000 users in open windows (in process)   ${state.windows} windows, RSS +${state.mb.toFixed(0)} MB`);
  } finally {
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

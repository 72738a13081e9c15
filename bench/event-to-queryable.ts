/**
 * Event-to-queryable latency: from `POST /track` to the event being listed by
 * `GET /activities`, for N events posted at a steady rate, with the API and
 * the topology worker running as separate processes on the real services.
 * Printed beside two baselines measured in the same run: the POST
 * acknowledgement itself (Kafka acks=all) and the record being readable on
 * Kafka by a plain consumer (the transport floor the pipeline adds to).
 *
 *   npm run bench:latency            # 200 events at 50/s
 *   EVENTS=1000 RATE=200 npm run bench:latency
 *
 * Services: from the environment, else Testcontainers, else scripts/services.sh.
 */
import { loadConfig } from '../src/config.js';
import { initialize } from '../testing/deployment.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices } from '../testing/services.js';
import { freePort, rssMb, spawnStreamtrack } from '../testing/processes.js';
import { isolatedEnv } from '../testing/test-config.js';
import { testKafka } from '../testing/kafka.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';
import { formatRow } from './stats.js';

const EVENTS = Number(process.env.EVENTS ?? 200);
const RATE = Number(process.env.RATE ?? 50);
const POLL_MS = 10;

async function main() {
  const services = await startServices();
  const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
  const port = await freePort();
  const env = isolatedEnv(services.addresses, { API_PORT: String(port), LOG_LEVEL: 'warn', KAFKA_EVENTS_PARTITIONS: '12' });
  const base = `http://127.0.0.1:${port}`;
  await initialize(services.addresses, env);
  const api = spawnStreamtrack('api', env);
  const worker = spawnStreamtrack('worker', env);
  const kafka = testKafka(loadConfig(env).kafka);
  const consumer = kafka.consumer({ groupId: `bench-${Date.now()}`, maxWaitTimeInMs: 10 });
  try {
    await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: 'API ready' });
    // Warm-up: schema lookup, producer connection, consumer-group assignment.
    const [warmId] = await acceptedIds(
      await fetch(`${base}/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 'warmup', action: 'warmup' }),
      }),
    );
    await waitFor(async () => {
      const body = (await (await fetch(`${base}/activities?limit=1`)).json()) as { events: Array<{ event_id: string }> };
      return body.events.some((e) => e.event_id === warmId) ? true : undefined;
    }, { timeoutMs: 60_000, what: 'warm-up event stored' });

    const postedAt = new Map<string, number>();
    const ackMs: number[] = [];
    const onKafkaMs: number[] = [];
    const queryableMs: number[] = [];
    const seenOnKafka = new Set<string>();
    const keysByPost = new Map<string, number>(); // user_id (unique per event) -> post time

    await consumer.connect();
    await consumer.subscribe({ topics: [env.KAFKA_EVENTS_TOPIC!], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        const started = keysByPost.get(key);
        if (started !== undefined && !seenOnKafka.has(key)) {
          seenOnKafka.add(key);
          onKafkaMs.push(performance.now() - started);
        }
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the bench consumer join before posting

    let polling = true;
    const poller = (async () => {
      while (polling) {
        const body = (await (await fetch(`${base}/activities?limit=1000`)).json()) as { events: Array<{ event_id: string }> };
        const now = performance.now();
        for (const { event_id } of body.events) {
          const started = postedAt.get(event_id);
          if (started !== undefined) {
            queryableMs.push(now - started);
            postedAt.delete(event_id);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();

    const interval = 1000 / RATE;
    const t0 = performance.now();
    const posts: Promise<void>[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const userId = `bench_user_${i}`;
      const started = performance.now();
      keysByPost.set(userId, started);
      posts.push(
        fetch(`${base}/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: userId, action: 'bench', properties: { i } }),
        }).then(async (response) => {
          const [eventId] = await acceptedIds(response);
          ackMs.push(performance.now() - started);
          postedAt.set(eventId!, started);
        }),
      );
    }
    await Promise.all(posts);
    await waitFor(() => (postedAt.size === 0 ? true : undefined), { timeoutMs: 120_000, what: 'every event queryable' });
    polling = false;
    await poller;

    console.log(`\nEvent-to-queryable latency: ${EVENTS} events at ${RATE}/s, ClickHouse via ${services.addresses.source} services`);
    console.log(formatRow('POST /track acknowledged (baseline)', ackMs));
    console.log(formatRow('readable on Kafka (baseline)', onKafkaMs));
    console.log(formatRow('listed by GET /activities', queryableMs));
    console.log(`RSS after the run: api ${(await rssMb(api.child.pid)).toFixed(0)} MB, worker ${(await rssMb(worker.child.pid)).toFixed(0)} MB`);
  } finally {
    await consumer.disconnect();
    await Promise.all([api.stop(), worker.stop()]);
    await removeLeftovers();
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * The worker's event_id lookup (storedEventPositions: which of a round's ids
 * are stored already) as `event_ids_by_time` grows, for two kinds of ids side by
 * side in the same run:
 *   - random (UUIDv4, crypto.randomUUID): the baseline, and what a client
 *     sending its own v4 ids gets;
 *   - time-ordered (UUIDv7, src/ingestion/event-id.ts): what the API assigns
 *     to events sent without an id.
 * Each kind has a database of its own whose `event_ids_by_time` is filled in SIZES
 * steps, with ids generated inside ClickHouse (v7 at the time of the fill,
 * so later rounds' ids are newer, as in production); at each size, ROUNDS
 * lookups of LOOKUP new ids each (a round of the worker is about 17,000).
 *
 *   npm run bench:lookup
 *   SIZES=1000000,5000000 ROUNDS=3 npm run bench:lookup
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { newEventId } from '../src/ingestion/event-id.js';
import { createClickHouse } from '../src/storage/clickhouse.js';
import { storedEventPositions } from '../src/storage/events-table.js';
import { migrate } from '../src/storage/migrations.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices } from '../testing/services.js';
import { isolatedEnv } from '../testing/test-config.js';
import { formatRow } from './stats.js';

const SIZES = (process.env.SIZES ?? '1000000,10000000,40000000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LOOKUP = Number(process.env.LOOKUP ?? 17_000);
/** Rows per fill statement: within the client's request timeout. */
const CHUNK = 2_000_000;

const KINDS = [
  { name: 'random ids (v4)', generate: 'generateUUIDv4', newIds: () => Array.from({ length: LOOKUP }, () => randomUUID()) },
  { name: 'time-ordered ids (v7)', generate: 'generateUUIDv7', newIds: () => Array.from({ length: LOOKUP }, () => newEventId(Date.now())) },
] as const;

async function main() {
  const services = await startServices();
  const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
  const stores = KINDS.map((kind) => {
    const config = loadConfig(isolatedEnv(services.addresses, { LOG_LEVEL: 'warn' }));
    return { kind, config, clickhouse: createClickHouse(config.clickhouse, config.clickhouse.database), stored: 0 };
  });
  try {
    for (const store of stores) await migrate(store.config.clickhouse);
    console.log(`event_id lookups of ${LOOKUP} new ids, ${ROUNDS} per size`);
    for (const size of SIZES) {
      for (const store of stores) {
        for (; store.stored < size; store.stored += Math.min(CHUNK, size - store.stored)) {
          const rows = Math.min(CHUNK, size - store.stored);
          await store.clickhouse.command({
            query: `INSERT INTO event_ids_by_time SELECT ${store.kind.generate}(number), 0, ${store.stored} + number, now64(3) FROM numbers(${rows})`,
          });
        }
      }
      // Rounds alternate between the kinds: background merges of the fill and the machine's drift weigh on both alike.
      const samples = stores.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, store] of stores.entries()) {
          const ids = store.kind.newIds();
          const started = performance.now();
          const found = await storedEventPositions(store.clickhouse, ids);
          samples[i]!.push(performance.now() - started);
          if (found.size !== 0) throw new Error(`${found.size} new ids reported as stored`);
        }
      }
      for (const [i, store] of stores.entries()) console.log(formatRow(`${store.kind.name}, ${(size / 1e6).toFixed(0)}M stored`, samples[i]!));
    }
  } finally {
    for (const store of stores) await store.clickhouse.close();
    await removeLeftovers();
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * Validation + Avro encoding in process, on one core: events/s of the path
 * every /track event takes (validate against the schema, encode, frame),
 * beside a baseline measured in the same run: JSON.parse + JSON.stringify of
 * the same events, the least any JSON collector does per event.
 *
 *   npm run bench:validate            # 200,000 events per measurement
 *   EVENTS=1000000 npm run bench:validate
 */
import { validateEvent } from '../src/ingestion/validate-event.js';
import { encodeAvroFrame } from '../src/serde/wire-format.js';
import { schemaVersionType } from '../testing/schemas.js';

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const type = schemaVersionType(2);
const bodies = Array.from({ length: 1_000 }, (_, i) =>
  JSON.stringify({
    user_id: `user_${i}`,
    action: i % 2 ? 'page_viewed' : 'purchase',
    timestamp: '2026-11-26T10:00:00.000Z',
    sent_at: '2026-11-26T10:00:01.000Z',
    session_id: `s_${i % 50}`,
    properties: { plan: 'pro', seats: i % 7, price: 19.99, trial: false, coupon: null },
    context: { locale: 'en-US', library: { name: 'streamtrack-js', version: '1.2.3' } },
  }),
);

function measure(name: string, work: (body: string) => void) {
  for (let i = 0; i < 20_000; i++) work(bodies[i % bodies.length]!); // warm-up
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) work(bodies[i % bodies.length]!);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perSecond = EVENTS / seconds;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  console.log(`${name.padEnd(44)} ${perSecond.toFixed(0).padStart(9)} events/s  ${((seconds / EVENTS) * 1e6).toFixed(2).padStart(6)} µs/event  heap Δ ${heapMb.toFixed(1)} MB`);
  return perSecond;
}

console.log(`\n${EVENTS} events per measurement, one core (node ${process.version})`);
const baseline = measure('JSON.parse + JSON.stringify (baseline)', (body) => {
  JSON.stringify(JSON.parse(body));
});
const validated = measure('JSON.parse + validate', (body) => {
  validateEvent(JSON.parse(body), type, Date.now());
});
const full = measure('JSON.parse + validate + Avro encode + frame', (body) => {
  const result = validateEvent(JSON.parse(body), type, Date.now());
  if (result.ok) encodeAvroFrame(2, type, result.value);
});
console.log(`validate+encode vs baseline: ${(full / baseline).toFixed(2)}x the baseline's rate; validate alone ${(validated / baseline).toFixed(2)}x`);

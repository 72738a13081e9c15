/**
 * The cost of the bounded-Avro check (src/serde/bounded-avro.ts) per valid
 * event, beside plain avsc decoding of the same bodies in the same run: what
 * the API adds to a client-encoded event and the worker to every record.
 * One core, in process; the process's CPU time, not the wall clock, so that
 * other work on a shared machine weighs less on the figures, and the three
 * measurements alternate in short slices (the median slice is reported).
 *
 *   npm run bench:decode            # 60 slices of 20,000 events each
 *   SLICES=200 EVENTS=50000 npm run bench:decode
 */
import { avroBoundsProblem, eventAvroBounds } from '../src/serde/bounded-avro.js';
import { schemaVersionType } from '../testing/schemas.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const SLICES = Number(process.env.SLICES ?? 60);
const type = schemaVersionType(2);
const bounds = eventAvroBounds();
const bodies = Array.from({ length: 1_000 }, (_, i) =>
  type.toBuffer({
    event_id: `0b8f6a52-1c2d-4e5f-8a9b-${String(i).padStart(12, '0')}`,
    project_id: 'default',
    user_id: `user_${i}`,
    action: i % 2 ? 'page_viewed' : 'purchase',
    timestamp: 1_796_000_000_000 + i,
    sent_at: 1_796_000_001_000 + i,
    received_at: 1_796_000_001_000 + i,
    session_id: `s_${i % 50}`,
    properties: { plan: 'pro', seats: i % 7, price: 19.99, trial: false, coupon: null },
    warnings: [],
    context: { ip: null, user_agent: 'Mozilla/5.0', locale: 'en-US', library: { name: 'streamtrack-js', version: '1.2.3' }, page_url: null },
  }),
);
const averageBytes = bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length;

let sink = 0;
/** CPU µs per event over one slice. */
function measure(work: (body: Buffer) => void): number {
  const before = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) work(bodies[i % bodies.length]!);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / EVENTS;
}

const decode = (body: Buffer) => {
  sink += (type.fromBuffer(body) as { properties: object }).properties ? 1 : 0;
};
const guard = (body: Buffer) => {
  if (avroBoundsProblem(type, body, bounds) !== undefined) throw new Error('a valid body refused');
};
const guarded = (body: Buffer) => {
  guard(body);
  decode(body);
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
for (let i = 0; i < 5; i++) [decode, guard, guarded].forEach(measure); // warm-up
const plain: number[] = [];
const alone: number[] = [];
const both: number[] = [];
for (let slice = 0; slice < SLICES; slice++) {
  plain.push(measure(decode));
  alone.push(measure(guard));
  both.push(measure(guarded));
}
const added = plain.map((p, i) => (both[i]! - p) / p);
console.log(`\n${SLICES} slices of ${EVENTS} v2 events (${averageBytes.toFixed(0)} bytes of Avro each), one core, CPU time (node ${process.version})`);
console.log(`avsc decode (baseline)   ${median(plain).toFixed(3)} µs/event`);
console.log(`bounds check alone       ${median(alone).toFixed(3)} µs/event  (${((median(alone) / median(plain)) * 100).toFixed(0)}% of the decode)`);
console.log(`bounds check + decode    ${median(both).toFixed(3)} µs/event  (median of the slices' added cost: ${(median(added) * 100).toFixed(0)}%)`);
if (sink < 0) console.log(sink);

/**
 * A crash forced between the raw insert and the commit, twice, each replayed
 * with other batch boundaries and with client resends, checked against the
 * truth: event counts, sum/min/max of `amount` per minute, hour and day, and
 * sessions.
 *
 * The crash is forced from outside: a table the round's finish writes is
 * renamed away (ClickHouse answers UNKNOWN_TABLE, which the worker retries),
 * so the round's raw events are stored but it can never commit; the workers
 * are then SIGKILLed and the table put back.
 *   1. `window_state` away: results written, checkpoints not (two workers).
 *   2. `topology_watermarks` away: results and checkpoints written, the
 *      commit not (one worker).
 * Each crash is replayed by a different number of workers than ran before it
 * (one round holds other partitions), with new records behind the replayed
 * ones (a replayed batch runs past where the lost round ended), and with
 * events sent again under their event_id before and after the crash. The
 * replacing workers' metrics must account for at least every stored record
 * they replay as such (read again, neither stored again nor counted), and
 * every resend after the crash as a duplicate: proof that duplicates did
 * arrive, and were recognised.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { loadConfig } from '../src/config.js';
import { checkExact, type IdentifiedEvent } from '../testing/exact-truth.js';
import { committedOffsets, recordCount, testKafka } from '../testing/kafka.js';
import { scrapeMetric } from '../testing/metrics.js';
import { freePort, type StreamtrackProcess } from '../testing/processes.js';
import { Stack, traffic, type SentEvent } from '../testing/stack.js';
import { waitUntil } from '../testing/wait-for.js';

const SPAN_MINUTES = 40;
const PHASES = 5;
const PER_PHASE = 5_000;
const RESENDS = 600;

const stack = new Stack();
beforeAll(() => stack.start(0));
afterAll(() => stack.stop());

const all: IdentifiedEvent[] = traffic(PHASES * PER_PHASE, 800, SPAN_MINUTES, 29).map((e) => ({ ...e, event_id: randomUUID() }));
const phase = (i: number) => all.slice(i * PER_PHASE, (i + 1) * PER_PHASE);
/** Every `step`-th event of a phase: what a client sends again under the same event_id. */
const resendsOf = (i: number, step = Math.floor(PER_PHASE / RESENDS)) => phase(i).filter((_, j) => j % step === 0).slice(0, RESENDS);

interface Worker {
  process: StreamtrackProcess;
  base: string;
}

async function startWorker(): Promise<Worker> {
  const port = await freePort();
  return { process: stack.addWorker({ WORKER_HTTP_PORT: String(port) }), base: `http://127.0.0.1:${port}` };
}

const metric = (w: Worker, name: string, labels: Record<string, string>) => scrapeMetric(w.base, name, labels).catch(() => 0);
const total = async (workers: Worker[], name: string, labels: Record<string, string> = {}) =>
  (await Promise.all(workers.map((w) => metric(w, name, labels)))).reduce((a, b) => a + b, 0);

/**
 * What the replacing workers did with the records they read: `replayed`
 * are records read again whose event is already stored from that very
 * record (neither stored again nor counted as duplicates: the windows skip
 * what their checkpoint holds), `duplicates` are resends of a stored id.
 */
async function replayFigures(workers: Worker[]) {
  const consumed = await total(workers, 'streamtrack_consumer_batch_records_sum');
  const stored = await total(workers, 'streamtrack_worker_events_total', { outcome: 'stored' });
  const duplicates = await total(workers, 'streamtrack_worker_events_total', { outcome: 'duplicate' });
  return { consumed, stored, duplicates, replayed: consumed - stored - duplicates };
}

/** The partitions a worker holds, from its /topology ([] once it is gone). */
async function heldPartitions(w: Worker): Promise<number[]> {
  const body = (await fetch(`${w.base}/topology`).then((r) => r.json(), () => undefined)) as { windowed?: Array<{ partitions: Array<{ partition: number }> }> } | undefined;
  return body?.windowed?.[0]?.partitions.map((p) => p.partition) ?? [];
}

/** A worker's /readyz status: 200 while it is a member of the group (0: not answering). */
const readiness = (w: Worker) => fetch(`${w.base}/readyz`).then((r) => r.status, () => 0);

const kafka = () => testKafka(loadConfig(stack.env).kafka);
const topic = () => stack.env.KAFKA_EVENTS_TOPIC!;
const group = () => stack.env.KAFKA_CONSUMER_GROUP!;

/** Raw rows stored from records at or above their partition's committed offset: what a new owner replays although stored. */
async function storedAboveCommit(): Promise<number> {
  const committed = await committedOffsets(kafka(), topic(), group());
  const below = [...committed].filter(([, offset]) => offset >= 0n).map(([p, offset]) => `(kafka_partition = ${p} AND kafka_offset < ${offset})`);
  return stack.count(`SELECT count() AS n FROM events WHERE NOT (${below.length > 0 ? below.join(' OR ') : '0'})`);
}

async function caughtUp(distinct: number) {
  await waitUntil(() => stack.count(`SELECT uniqExact(event_id) AS n FROM events`), (n) => n >= distinct, {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: `${distinct} distinct events stored`,
  });
  // ...and committed: nothing left to replay.
  // (A replacing worker joins once the killed ones' sessions expire, and may have to join twice.)
  await waitUntil(async () => ({ committed: (await committedOffsets(kafka(), topic(), group())).size, storedAboveCommit: await storedAboveCommit() }), (c) => c.committed === 4 && c.storedAboveCommit === 0, {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: 'every stored record committed',
  });
}

/**
 * Renames `table` away, sends the phase's events, waits until the write of
 * `sink` (the metric's label of the step that writes `table`) has failed and raw rows are stored above the
 * commit, SIGKILLs the workers, renames the table back. Returns the stored
 * rows above the commit at the crash.
 */
async function crashBetweenRawAndCommit(table: string, sink: 'window_results' | 'window_state', workers: Worker[], events: SentEvent[]): Promise<number> {
  const db = stack.env.CLICKHOUSE_DATABASE!;
  await stack.clickhouse.command({ query: `RENAME TABLE ${db}.${table} TO ${db}.${table}_away` });
  try {
    const failuresBefore = await Promise.all(workers.map((w) => metric(w, 'streamtrack_sink_write_failures_total', { sink })));
    await stack.send(events);
    await waitUntil(
      async () => ({
        failing: await Promise.all(workers.map((w) => metric(w, 'streamtrack_sink_write_failures_total', { sink }))),
        above: await storedAboveCommit(),
      }),
      ({ failing, above }) => failing.some((n, i) => n > failuresBefore[i]!) && above > 0,
      { timeoutMs: 60_000, intervalMs: 200, what: `${sink} writes failing (${table} away) with raw rows stored above the commit` },
    );
    console.log('[crash replay] partitions held at the crash', table, JSON.stringify(await Promise.all(workers.map(heldPartitions))));
    await Promise.all(workers.map((w) => w.process.stop('SIGKILL')));
    return await storedAboveCommit();
  } finally {
    await stack.clickhouse.command({ query: `RENAME TABLE ${db}.${table}_away TO ${db}.${table}` });
  }
}

describe('a crash between the raw insert and the commit, replayed', () => {
  it('stores and counts every event once: counts, sums, min/max and sessions equal the truth', async () => {
    onTestFailed(() => stack.workers.forEach((w, i) => console.log(`[crash replay] worker ${i} output:\n${w.output().slice(-4_000)}`)));
    const resent = { before: 0, after: 0 };
    let distinct = 0;
    const first = [await startWorker(), await startWorker()];
    await waitUntil(() => Promise.all(first.map(readiness)), (codes) => codes.every((c) => c === 200), {
      timeoutMs: 60_000,
      what: 'both workers members of the group',
    });
    await stack.send(phase(0));
    distinct += PER_PHASE;
    await caughtUp(distinct);
    // The group settled and every partition resumed (its checkpoints read) before a table is taken away, so
    // that stops only a round's finish, never a resume: a resume runs with the first records after an
    // assignment, and a worker may have joined after the last ones.
    const WARM_UP = 400;
    await stack.send(phase(1).slice(0, WARM_UP));
    await caughtUp(distinct + WARM_UP);
    await waitUntil(() => Promise.all(first.map(heldPartitions)), (held) => held.every((p) => p.length > 0) && new Set(held.flat()).size === 4, {
      timeoutMs: 60_000,
      what: 'all four partitions resumed, shared by the two workers',
    });

    // Crash 1: two workers, window_state away. Resends of stored events ride along (duplicates before the crash too).
    const crash1 = await crashBetweenRawAndCommit('window_state', 'window_state', first, [...phase(1).slice(WARM_UP), ...resendsOf(0)]);
    resent.before += RESENDS;
    distinct += PER_PHASE;
    // Replayed by one worker (all four partitions in its rounds), new records and resends of the unfinished phase behind.
    await stack.send([...phase(2), ...resendsOf(1)]);
    resent.after += RESENDS;
    distinct += PER_PHASE;
    const second = [await startWorker()];
    await caughtUp(distinct);
    const replay1 = await replayFigures(second);

    // Crash 2: one worker, topology_watermarks away (results and checkpoints land, the commit does not).
    const crash2 = await crashBetweenRawAndCommit('topology_watermarks', 'window_results', second, [...phase(3), ...resendsOf(2)]);
    resent.before += RESENDS;
    distinct += PER_PHASE;
    await stack.send([...phase(4), ...resendsOf(3)]);
    resent.after += RESENDS;
    distinct += PER_PHASE;
    const third = [await startWorker(), await startWorker()];
    await caughtUp(distinct);
    const replay2 = await replayFigures(third);

    // Close every window and session: events past the last session's gap in every partition.
    const closeAt = Date.parse('2026-01-01T00:00:00Z') + (SPAN_MINUTES + 40) * 60_000;
    await stack.send(Array.from({ length: 64 }, (_, i) => ({ user_id: `flush_${i}`, action: 'flush', timestamp: closeAt, properties: { amount: 0 } })));
    const report = await checkExact(stack.clickhouse, all, { label: 'crash replay' });

    const records = await recordCount(kafka(), topic());
    const figures = { crash1: { storedAboveCommit: crash1, ...replay1 }, crash2: { storedAboveCommit: crash2, ...replay2 }, resent, records, distinct: report.events };
    console.log('[crash replay]', JSON.stringify(figures));
    expect(records).toBe(PHASES * PER_PHASE + 4 * RESENDS + 64);
    // Duplicates did arrive: the replacing workers read again every record stored above the commit at
    // the crash, and met at least every resend sent after it as a duplicate (those sent before it and
    // not yet committed, too).
    expect(crash1).toBeGreaterThan(0);
    expect(crash2).toBeGreaterThan(0);
    expect(replay1.replayed).toBeGreaterThanOrEqual(crash1);
    expect(replay2.replayed).toBeGreaterThanOrEqual(crash2);
    expect(replay1.duplicates).toBeGreaterThanOrEqual(RESENDS);
    expect(replay2.duplicates).toBeGreaterThanOrEqual(RESENDS);
  }, 600_000);
});

/**
 * A whole StreamTrack stack (API + workers as processes) on the test
 * services, synthetic traffic, and the check of ClickHouse against ground
 * truth computed from what was sent: events lost, duplicated raw rows,
 * over- and under-counted windows, rollup errors, late events.
 */
import { expect, inject } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createClickHouse, type ClickHouseClient } from '../src/storage/clickhouse.js';
import { initialize } from './deployment.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from './processes.js';
import type { ServiceAddresses } from './services.js';
import { isolatedEnv, roleEnv } from './test-config.js';
import { waitFor } from './wait-for.js';

const MINUTE = 60_000;
const START = Date.parse('2026-01-01T00:00:00Z');

export interface SentEvent {
  user_id: string;
  action: string;
  timestamp: number;
  properties: { amount: number };
}

/**
 * Deterministic synthetic traffic: `count` events over `users` users and
 * `spanMinutes` minutes, in time order but up to 10 s out of order (within
 * the 30 s grace, so none is late).
 */
export function traffic(count: number, users: number, spanMinutes: number, seed: number): SentEvent[] {
  let x = seed;
  const next = () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const step = (spanMinutes * MINUTE) / count;
  return Array.from({ length: count }, (_, i) => ({
    user_id: `user_${Math.floor(next() * users)}`,
    action: ['view', 'click', 'buy'][Math.floor(next() * 3)]!,
    timestamp: START + Math.max(0, Math.floor(i * step - next() * 10_000)),
    properties: { amount: Math.floor(next() * 100) },
  }));
}

/** Events that push every partition's watermark past all the traffic's windows. */
export function flush(spanMinutes: number): SentEvent[] {
  return Array.from({ length: 64 }, (_, i) => ({
    user_id: `flush_${i}`,
    action: 'flush',
    timestamp: START + (spanMinutes + 10) * MINUTE,
    properties: { amount: 0 },
  }));
}

function truthPerMinute(events: SentEvent[]): Map<string, number> {
  const truth = new Map<string, number>();
  for (const e of events) {
    const key = `${e.user_id}|${e.timestamp - (e.timestamp % MINUTE)}`;
    truth.set(key, (truth.get(key) ?? 0) + 1);
  }
  return truth;
}

export class Stack {
  api!: StreamtrackProcess;
  workers: StreamtrackProcess[] = [];
  base = '';
  /** The API's operations port: /metrics and the detailed /readyz. */
  opsBase = '';
  clickhouse!: ClickHouseClient;
  /** The privileged (init's) environment; each process runs with its role's credentials. */
  env: NodeJS.ProcessEnv = {};
  services!: ServiceAddresses;

  async start(workers: number, overrides: NodeJS.ProcessEnv = {}) {
    const [port, opsPort] = [await freePort(), await freePort()];
    this.services = inject('services');
    // Short rolling interval: many re-emits, the case that must never inflate rollups.
    this.env = isolatedEnv(this.services, {
      API_PORT: String(port),
      API_OPS_PORT: String(opsPort),
      TOPOLOGY_ROLLING_UPDATE_MS: '5000',
      LOG_LEVEL: 'warn',
      ...overrides,
    });
    this.base = `http://127.0.0.1:${port}`;
    this.opsBase = `http://127.0.0.1:${opsPort}`;
    this.clickhouse = createClickHouse(loadConfig(this.env).clickhouse);
    await initialize(this.services, this.env);
    this.api = spawnStreamtrack('api', roleEnv(this.services, this.env, 'api'));
    for (let i = 0; i < workers; i++) this.addWorker();
    await waitFor(async () => ((await fetch(`${this.base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: 'API ready' });
  }

  /** `overrides`: this worker's own settings (its WORKER_HTTP_PORT, say), over the stack's. */
  addWorker(overrides: NodeJS.ProcessEnv = {}): StreamtrackProcess {
    const worker = spawnStreamtrack('worker', roleEnv(this.services, { ...this.env, ...overrides }, 'worker'));
    this.workers.push(worker);
    return worker;
  }

  async send(events: SentEvent[]) {
    for (let i = 0; i < events.length; i += 500) {
      const response = await fetch(`${this.base}/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events.slice(i, i + 500)),
      });
      expect(response.status).toBe(202);
    }
  }

  async count(sql: string): Promise<number> {
    const result = await this.clickhouse.query({ query: sql, format: 'JSONEachRow' });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }

  /** Waits until the workers have stored more than `rows` events: they are mid-stream. */
  async waitUntilStoring(rows: number) {
    await waitFor(async () => ((await this.count('SELECT count() AS n FROM events')) > rows ? true : undefined), {
      timeoutMs: 60_000,
      what: `more than ${rows} events stored`,
    });
  }

  async stop() {
    await Promise.all([this.api?.stop(), ...this.workers.map((w) => w.stop())]);
    await this.clickhouse?.close();
  }
}

/** Compares ClickHouse with the truth; returns the report the issue asks for. */
export async function verify(stack: Stack, sent: SentEvent[]) {
  const n = sent.length;
  const started = Date.now();
  await waitFor(async () => ((await stack.count(`SELECT count() AS n FROM events WHERE action != 'flush'`)) >= n ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: 'every raw event stored',
  });
  const truth = truthPerMinute(sent);
  // All traffic windows final: the flush events moved every watermark past them.
  await waitFor(
    async () =>
      (await stack.count(`SELECT count() AS n FROM agg_user_activity_1m FINAL WHERE is_final = 1 AND user_id NOT LIKE 'flush%'`)) === truth.size
        ? true
        : undefined,
    { timeoutMs: 120_000, intervalMs: 500, what: `${truth.size} final minute windows` },
  );
  const recoverySeconds = (Date.now() - started) / 1000;

  const rows = await (
    await stack.clickhouse.query({
      query: `SELECT user_id, toString(toUnixTimestamp64Milli(window_start)) AS start, events
              FROM agg_user_activity_1m FINAL WHERE user_id NOT LIKE 'flush%'`,
      format: 'JSONEachRow',
    })
  ).json<{ user_id: string; start: string; events: string }>();
  let overCounted = 0;
  let underCounted = 0;
  for (const row of rows) {
    const expected = truth.get(`${row.user_id}|${row.start}`) ?? 0;
    if (Number(row.events) > expected) overCounted += 1;
    if (Number(row.events) < expected) underCounted += 1;
  }
  const rawRows = await stack.count(`SELECT count() AS n FROM events WHERE action != 'flush'`);
  const distinctIds = await stack.count(`SELECT uniqExact(event_id) AS n FROM events WHERE action != 'flush'`);
  const hourTotal = await stack.count(`SELECT sum(events) AS n FROM agg_user_activity_1h WHERE user_id NOT LIKE 'flush%'`);
  const dayTotal = await stack.count(`SELECT sum(events) AS n FROM agg_user_activity_1d WHERE user_id NOT LIKE 'flush%'`);
  const late = await stack.count(`SELECT count() AS n FROM late_events FINAL`);
  const report = {
    events: n,
    lost: n - distinctIds,
    duplicatedRawRows: rawRows - distinctIds,
    overCountedWindows: overCounted,
    underCountedWindows: underCounted,
    hourRollupError: hourTotal - n,
    dayRollupError: dayTotal - n,
    lateEvents: late,
    recoverySeconds,
  };
  console.log('[windowed aggregates]', JSON.stringify(report));
  expect(rows).toHaveLength(truth.size);
  expect(report).toMatchObject({ lost: 0, duplicatedRawRows: 0, overCountedWindows: 0, underCountedWindows: 0, hourRollupError: 0, dayRollupError: 0, lateEvents: 0 });
}


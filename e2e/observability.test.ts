/**
 * What operators see: the API's and a worker's /metrics after real traffic
 * (the API's on its operations port, not on the port clients reach),
 * the worker's probes and topology view, request ids in the API's logs, and the Grafana
 * dashboard asking only for metrics the processes export (and for all of
 * StreamTrack's own).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initialize } from '../testing/deployment.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from '../testing/processes.js';
import { REPO_ROOT } from '../testing/services.js';
import { isolatedEnv, roleEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

interface Scrape {
  /** Metric families by name, from the `# TYPE` lines. */
  types: Map<string, string>;
  /** Sum of the samples of one series name whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
}

function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return {
    types,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
  };
}

async function scrape(base: string): Promise<Scrape> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

/** A histogram's series are its family name plus one of these. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/** Metric names in PromQL expressions: identifiers followed by a selector, a range or a closing parenthesis. */
function dashboardMetrics(dashboard: { panels: Array<{ targets?: Array<{ expr: string }> }> }): Set<string> {
  const names = new Set<string>();
  for (const target of dashboard.panels.flatMap((p) => p.targets ?? [])) {
    const withoutLabels = target.expr.replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
    for (const [name] of withoutLabels.matchAll(/\b(?:streamtrack|process|nodejs)_[a-z0-9_]+/g)) names.add(name);
  }
  return names;
}

let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let apiBase: string;
let apiOpsBase: string;
let workerBase: string;

beforeAll(async () => {
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  const services = inject('services');
  // The API's operations port is any free one: found in its log line, as an operator would.
  const env = isolatedEnv(services, { API_PORT: String(apiPort), API_OPS_PORT: '0', WORKER_HTTP_PORT: String(workerPort), LOG_LEVEL: 'info' });
  apiBase = `http://127.0.0.1:${apiPort}`;
  workerBase = `http://127.0.0.1:${workerPort}`;
  await initialize(services, env);
  api = spawnStreamtrack('api', roleEnv(services, env, 'api'));
  worker = spawnStreamtrack('worker', roleEnv(services, env, 'worker'));
  await waitFor(async () => ((await fetch(`${apiBase}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: `API ready\n${api.output()}` });
  const listening = api.output().split('\n').find((line) => line.includes('"msg":"API listening"'));
  apiOpsBase = `http://${(JSON.parse(listening!) as { ops: string }).ops}`;
});

afterAll(async () => {
  const codes = await Promise.all([api?.stop(), worker?.stop()]);
  expect(codes, `exit codes of api and worker\n${worker?.output()}`).toEqual([0, 0]);
});

describe('observability', () => {
  it("serves the worker's liveness and readiness once it is a member of the consumer group", async () => {
    expect(await (await fetch(`${workerBase}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await waitFor(
      async () => {
        const response = await fetch(`${workerBase}/readyz`);
        return response.ok ? response.json() : undefined;
      },
      { timeoutMs: 60_000, what: `worker ready\n${worker.output()}` },
    );
    expect(ready).toEqual({ status: 'ready', checks: { consumer_group: { ok: true } } });
  });

  it('counts requests, accepted and refused events, produce batches and what the worker stored', async () => {
    const response = await fetch(`${apiBase}/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { user_id: 'm1', action: 'a' },
        { user_id: 'm2', action: 'b' },
        { user_id: 'm3', action: 'c' },
        { user_id: 'm4' },
      ]),
    });
    expect(response.status).toBe(207);

    const apiMetrics = await scrape(apiOpsBase);
    expect(apiMetrics.value('streamtrack_events_accepted_total')).toBe(3);
    expect(apiMetrics.value('streamtrack_events_refused_total', { reason: 'missing' })).toBe(1);
    expect(apiMetrics.value('streamtrack_http_request_duration_seconds_count', { route: '/track', method: 'POST', status: '207' })).toBe(1);
    expect(apiMetrics.value('streamtrack_kafka_produce_batch_records_sum')).toBe(3);
    expect(apiMetrics.value('streamtrack_kafka_produce_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(apiMetrics.value('process_resident_memory_bytes', { service: 'api' })).toBeGreaterThan(0);

    const workerMetrics = await waitFor(
      async () => {
        const scraped = await scrape(workerBase);
        // Committed: batches are observed once their offsets are committed.
        return scraped.value('streamtrack_consumer_batch_records_sum') === 3 ? scraped : undefined;
      },
      { timeoutMs: 60_000, what: `the worker to commit 3 events\n${worker.output()}` },
    );
    expect(workerMetrics.value('streamtrack_worker_events_total', { outcome: 'stored' })).toBe(3);
    expect(workerMetrics.value('streamtrack_sink_write_duration_seconds_count', { sink: 'events' })).toBeGreaterThanOrEqual(1);
    expect(workerMetrics.value('streamtrack_sink_write_failures_total')).toBe(0);
    // Caught up: every partition that had a batch reports no lag.
    expect(workerMetrics.types.get('streamtrack_consumer_lag')).toBe('gauge');
    expect(workerMetrics.value('streamtrack_consumer_lag')).toBe(0);
  });

  it('describes the topologies it runs and the window state of its partitions', async () => {
    const response = await fetch(`${workerBase}/topology`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      raw: string;
      windowed: Array<{ name: string; description: string; partitions: Array<{ partition: number; watermark: string | null; openWindows: number }> }>;
    };
    expect(body.raw).toMatch(/^raw-events: events -> decode/);
    expect(body.windowed.map((t) => t.name)).toEqual(['user-activity-1m', 'user-sessions']);
    expect(body.windowed[0]!.description).toMatch(/windowedBy\(tumbling 1m, grace 30s[,)]/);
    // The three stored events opened one window per user, in the partitions that got them.
    const activity = body.windowed[0]!.partitions;
    expect(activity.reduce((sum, p) => sum + p.openWindows, 0)).toBe(3);
    expect(activity.every((p) => p.watermark === null || !Number.isNaN(Date.parse(p.watermark)))).toBe(true);
  });

  it("uses one route pattern per route in labels, never a request's own path", async () => {
    await fetch(`${apiBase}/stats/users/someone?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`);
    await fetch(`${apiBase}/no/such/route`);
    const scraped = await scrape(apiOpsBase);
    expect(scraped.value('streamtrack_http_request_duration_seconds_count', { route: '/stats/users/:user_id' })).toBe(1);
    expect(scraped.value('streamtrack_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBe(1);
  });

  it("echoes the client's request id and logs it with the request", async () => {
    const response = await fetch(`${apiBase}/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'trace-me-42' },
      body: JSON.stringify({ user_id: 'm5' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-request-id')).toBe('trace-me-42');
    const line = await waitFor(() => api.output().split('\n').find((l) => l.includes('"request_id":"trace-me-42"')), { what: 'the log line' });
    expect(JSON.parse(line)).toMatchObject({ level: 30, service: 'streamtrack-api', route: '/track', status: '400', msg: 'request refused' });

    const generated = await fetch(`${apiBase}/healthz`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    // An id a log line should not carry (spaces, over 128 characters) is replaced, not echoed.
    for (const insane of ['not a sane id', 'x'.repeat(129)]) {
      const replaced = await fetch(`${apiBase}/healthz`, { headers: { 'X-Request-Id': insane } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    }
  });

  it('has a dashboard that asks only for exported metrics, and for every StreamTrack metric', async () => {
    const dashboard = JSON.parse(await readFile(join(REPO_ROOT, 'monitoring/grafana/dashboards/streamtrack.json'), 'utf8'));
    const [apiMetrics, workerMetrics] = await Promise.all([scrape(apiOpsBase), scrape(workerBase)]);
    const exported = new Map([...apiMetrics.types, ...workerMetrics.types]);
    const family = (series: string) => (exported.has(series) ? series : series.replace(HISTOGRAM_SERIES, ''));

    const used = [...dashboardMetrics(dashboard)].map(family);
    expect(used.filter((name) => !exported.has(name)), 'dashboard metrics missing from /metrics').toEqual([]);
    const ours = [...exported.keys()].filter((name) => name.startsWith('streamtrack_'));
    expect(ours.filter((name) => !used.includes(name)), 'StreamTrack metrics missing from the dashboard').toEqual([]);
    expect(ours.length).toBeGreaterThanOrEqual(14);
  });
});

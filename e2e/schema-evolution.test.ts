/**
 * Schema evolution with no restart: while clients keep sending v1 events, v2
 * is registered; the API starts validating against it and v2 events arrive;
 * the worker decodes both by writer schema id into its reader schema and
 * stores both, none lost. Then v3 (the Segment message's fields): v3 events
 * are stored with them, v1 and v2 events read with their defaults. An
 * incompatible version is refused by the registry with its reason, and the
 * API keeps serving the latest.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { createKafka } from '../src/kafka/client.js';
import { createLogger } from '../src/logger.js';
import { createRegistry, eventSchemaFiles, registerEventSchemas, valueSubject } from '../src/serde/event-schemas.js';
import { loadConfig } from '../src/config.js';
import { freePort, spawnStreamtrack, type StreamtrackProcess } from '../testing/processes.js';
import { isolatedEnv } from '../testing/test-config.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';

interface Listed {
  events: Array<{
    event_id: string;
    session_id: string | null;
    context: { locale: string | null } | null;
    type: string;
    anonymous_id: string | null;
    traits: Record<string, unknown>;
    name: string | null;
    message_id: string | null;
  }>;
}

const env = isolatedEnv(inject('services'), { SCHEMAS_REGISTER_ON_START: 'false', SCHEMA_REFRESH_MS: '300' });
const config = loadConfig(env);
const registry = createRegistry(config.schemaRegistry.url);
const subject = valueSubject(config.kafka.eventsTopic);
let api: StreamtrackProcess;
let worker: StreamtrackProcess;
let base: string;

beforeAll(async () => {
  const { migrations, topics } = bootstrapSteps(config, createKafka(config.kafka, createLogger('silent', 'test')));
  await runSteps({ migrations, topics });
  const [v1] = await eventSchemaFiles();
  await registerEventSchemas(registry, subject, [v1!]);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnStreamtrack('api', { ...env, API_PORT: String(port) });
  worker = spawnStreamtrack('worker', env);
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: 'API ready' });
});

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
});

const track = (event: object, headers: Record<string, string> = {}) =>
  fetch(`${base}/track`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event) });

describe('schema evolution', () => {
  it('rolls v2 out while v1 events keep flowing, and stores both', async () => {
    const v1Ids: string[] = [];
    let producing = true;
    const v1Producer = (async () => {
      for (let i = 0; producing; i++) {
        const response = await track({ user_id: `v1_user_${i % 3}`, action: 'v1_event', properties: { i } }, { 'x-schema-version': '1' });
        expect(response.status).toBe(202);
        v1Ids.push(...(await acceptedIds(response)));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const v2Event = { user_id: 'v2_user', action: 'v2_event', session_id: 'sess-1', context: { locale: 'de-DE' } };
    const beforeV2 = await track(v2Event);
    expect(beforeV2.status).toBe(400); // latest is v1: session_id is not a field yet

    const v2Id = await registerEventSchemas(registry, subject, (await eventSchemaFiles()).slice(0, 2));
    const v2Ids = await waitFor(
      async () => {
        const response = await track(v2Event);
        return response.status === 202 ? acceptedIds(response) : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the API to validate against v2' },
    );
    for (let i = 0; i < 5; i++) v2Ids.push(...(await acceptedIds(await track({ ...v2Event, properties: { i } }))));
    producing = false;
    await v1Producer;
    expect(v1Ids.length).toBeGreaterThan(5);

    const listed = await waitFor(
      async () => {
        const { events } = (await (await fetch(`${base}/activities?limit=1000`)).json()) as Listed;
        return [...v1Ids, ...v2Ids].every((id) => events.some((e) => e.event_id === id)) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `all v1 and v2 events stored\n${worker.output()}` },
    );
    expect(listed).toHaveLength(v1Ids.length + v2Ids.length);
    for (const id of v1Ids) expect(listed.find((e) => e.event_id === id)).toMatchObject({ session_id: null, context: null });
    for (const id of v2Ids) expect(listed.find((e) => e.event_id === id)).toMatchObject({ session_id: 'sess-1', context: { locale: 'de-DE' } });
    expect([api.child.exitCode, worker.child.exitCode]).toEqual([null, null]); // no restart
    expect(v2Id).toBeGreaterThan(0);
  });

  it('rolls v3 out: its events keep type, anonymous_id, traits, name and message_id; v1 and v2 events read the defaults', async () => {
    const v3Event = {
      user_id: 'v3_user',
      action: '$identify',
      type: 'identify',
      anonymous_id: 'anon-v3',
      traits: { plan: 'pro', seats: 3 },
      name: null,
      message_id: 'node-next-1-abc',
    };
    const before = await track(v3Event);
    expect(before.status).toBe(400); // latest is v2: type is not a field yet

    await registerEventSchemas(registry, subject);
    const v3Ids = await waitFor(
      async () => {
        const response = await track(v3Event);
        return response.status === 202 ? acceptedIds(response) : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the API to validate against v3' },
    );
    const listed = await waitFor(
      async () => {
        const { events } = (await (await fetch(`${base}/activities?limit=1000`)).json()) as Listed;
        return events.some((e) => e.event_id === v3Ids[0]) ? events : undefined;
      },
      { timeoutMs: 30_000, what: `the v3 event stored\n${worker.output()}` },
    );
    expect(listed.find((e) => e.event_id === v3Ids[0])).toMatchObject({ ...v3Event, session_id: null });
    const older = listed.filter((e) => e.event_id !== v3Ids[0]);
    expect(older.length).toBeGreaterThan(5);
    for (const event of older) expect(event).toMatchObject({ type: 'track', anonymous_id: null, traits: {}, name: null, message_id: null });
  });

  it('refuses an incompatible version with the registry reason, and the API keeps serving the latest', async () => {
    const files = await eventSchemaFiles();
    const latest = JSON.parse(files[files.length - 1]!.schema) as { fields: Array<{ name: string; type: unknown }> };
    const broken = { ...latest, fields: latest.fields.map((f) => (f.name === 'action' ? { ...f, type: 'int' } : f)) };
    const latestBefore = await registry.getLatestSchemaId(subject);
    const version = files.length + 1;

    await expect(registerEventSchemas(registry, subject, [...files, { version, schema: JSON.stringify(broken) }])).rejects.toThrow(
      new RegExp(`schema v${version} refused for .*-value: .*(incompatible|compatib)`, 'i'),
    );
    expect(await registry.getLatestSchemaId(subject)).toBe(latestBefore);

    await new Promise((resolve) => setTimeout(resolve, 600)); // past the API's refresh interval
    const response = await track({ user_id: 'after_broken', action: 'still_a_string', session_id: 's' });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ results: [{ schema_id: latestBefore }] });
  });
});

/**
 * The catalog against the real registry, through a small counting proxy: a
 * schema id is taken only if it is a version of the events subject, and a
 * flood of frames with unknown ids costs the registry a bounded number of
 * requests.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import {
  RELIST_INTERVAL_MS,
  UnknownSchemaError,
  createRegistry,
  createSchemaCatalog,
  eventSchemaFiles,
  registerEventSchemas,
  valueSubject,
} from './event-schemas.js';

const registryUrl = inject('services').schemaRegistryUrl;
const id = randomBytes(4).toString('hex');
const subject = valueSubject(`test.events.${id}`);
const otherSubject = valueSubject(`test.other.${id}`);
const requests: string[] = [];
let proxy: Server;
let proxyUrl: string;
let latestId: number;
let otherId: number;

beforeAll(async () => {
  const upstream = new URL(registryUrl);
  proxy = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: upstream.host } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const registry = createRegistry(registryUrl);
  latestId = await registerEventSchemas(registry, subject);
  // A TrackedEvent of the same name, but registered under another subject only.
  const [v1] = await eventSchemaFiles();
  const variant = JSON.parse(v1!.schema) as { fields: unknown[] };
  variant.fields.push({ name: 'smuggled', type: 'string', default: '' });
  ({ id: otherId } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(variant) }, { subject: otherSubject }));
});
afterAll(() => new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve())));

describe('the schema catalog', () => {
  it('resolves an id that is a version of the subject', async () => {
    const catalog = createSchemaCatalog(createRegistry(proxyUrl), subject, 30_000);
    expect((await catalog.byId(latestId)).id).toBe(latestId);
  });

  it('refuses a TrackedEvent schema registered under another subject', async () => {
    const catalog = createSchemaCatalog(createRegistry(proxyUrl), subject, 30_000);
    await expect(catalog.byId(otherId)).rejects.toThrow(new UnknownSchemaError(`schema id ${otherId} is not a version of ${subject}`));
  });

  it('answers 1,000 frames with random unknown ids with a bounded number of registry requests', async () => {
    const catalog = createSchemaCatalog(createRegistry(proxyUrl), subject, 30_000);
    await catalog.byId(latestId); // warm: the subject listed once
    requests.length = 0;
    const ids = Array.from({ length: 1_000 }, () => randomInt(1_000_000, 2 ** 31 - 1));
    const results = await Promise.allSettled(ids.map((unknownId) => catalog.byId(unknownId)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof UnknownSchemaError)).toBe(true);
    // One listing of the subject's versions for all of them, none per id.
    expect(requests.length).toBeLessThanOrEqual(2);
    expect(requests.every((r) => r === `GET /subjects/${encodeURIComponent(subject)}/versions`)).toBe(true);

    // The same ids again: remembered as unknown, no request at all.
    requests.length = 0;
    await Promise.allSettled(ids.map((unknownId) => catalog.byId(unknownId)));
    expect(requests).toEqual([]);

    // New random ids one after another: listings at most one per interval, whatever the rate of frames.
    const started = Date.now();
    let frames = 0;
    while (Date.now() - started < 2_500) {
      await catalog.byId(randomInt(1_000_000, 2 ** 31 - 1)).catch(() => undefined);
      frames++;
    }
    const elapsed = Date.now() - started;
    expect(requests.length).toBeLessThanOrEqual(Math.ceil(elapsed / RELIST_INTERVAL_MS) + 1);
    expect(frames).toBeGreaterThanOrEqual(2);
  });
});

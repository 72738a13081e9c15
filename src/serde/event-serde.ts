/**
 * Avro encoding of tracked events in the Confluent wire format
 * (magic byte 0, 4-byte big-endian schema id, Avro body), with schemas
 * resolved through a Confluent-compatible Schema Registry. The registry client
 * caches schemas by id, so a running process keeps working on the schemas it
 * has seen when the registry goes away.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { TrackedEvent } from '../model/event.js';

export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url).pathname;
const EVENT_SCHEMA_FILE = /^tracked-event\.v(\d+)\.avsc$/;

export function createRegistry(url: string): SchemaRegistry {
  // Two quick retries: callers answer 503 rather than hold a request open.
  return new SchemaRegistry({ host: url, clientId: 'streamtrack', retry: { retries: 2, initialRetryTimeInSecs: 0.1 } });
}

/** TopicNameStrategy, the Confluent serializers' default: `<topic>-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** The tracked-event schema versions in schemas/, oldest first. */
export async function eventSchemaVersions(dir = SCHEMAS_DIR): Promise<string[]> {
  const files = (await readdir(dir))
    .map((name) => ({ name, version: Number(EVENT_SCHEMA_FILE.exec(name)?.[1]) }))
    .filter((f) => Number.isInteger(f.version))
    .sort((a, b) => a.version - b.version);
  return Promise.all(files.map((f) => readFile(join(dir, f.name), 'utf8')));
}

/**
 * Registers every version in order under the subject; the registry refuses a
 * version that breaks BACKWARD_TRANSITIVE compatibility and this throws its
 * reason. Registering an already registered schema returns its id.
 */
export async function registerEventSchemas(registry: SchemaRegistry, subject: string): Promise<number> {
  let id = -1;
  for (const schema of await eventSchemaVersions()) {
    ({ id } = await registry.register(
      { type: SchemaType.AVRO, schema },
      { subject, compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE },
    ));
  }
  return id;
}

export interface EventSerde {
  encode(event: TrackedEvent): Promise<Buffer>;
  decode(message: Buffer): Promise<TrackedEvent>;
}

/** Encodes with the subject's latest schema (looked up once), decodes by the id each message carries. */
export function createEventSerde(registry: SchemaRegistry, subject: string): EventSerde {
  let writerId: Promise<number> | undefined;
  return {
    async encode(event) {
      writerId ??= registry.getLatestSchemaId(subject).catch((error: unknown) => {
        writerId = undefined; // retry the lookup on the next event
        throw error;
      });
      return registry.encode(await writerId, event);
    },
    async decode(message) {
      return (await registry.decode(message)) as TrackedEvent;
    },
  };
}

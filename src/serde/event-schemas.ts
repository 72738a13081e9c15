/**
 * The tracked event's Avro schemas: the versions kept in schemas/, their
 * registration under the events topic's subject, and the catalog through
 * which the API and the worker resolve schemas by version or by id.
 *
 * The catalog caches what it resolved: schemas by id and version are
 * immutable, and the subject's latest id is refreshed in the background, so a
 * newly registered compatible version is picked up without a restart and a
 * registry outage does not stop a process that already has its schemas.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import avro, { type Type } from 'avsc';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { PACKAGE_ROOT } from '../package-root.js';

export const SCHEMAS_DIR = `${join(PACKAGE_ROOT, 'schemas')}/`;
export const EVENT_RECORD_NAME = 'dev.streamtrack.events.TrackedEvent';
const EVENT_SCHEMA_FILE = /^tracked-event\.v(\d+)\.avsc$/;
/**
 * FULL_TRANSITIVE: every version reads every other's data, both ways. The API
 * may start writing a new version before or after a worker with an older
 * reader schema restarts, so rollouts work in any order.
 */
export const EVENT_COMPATIBILITY = COMPATIBILITY.FULL_TRANSITIVE;

export interface SchemaFile {
  version: number;
  schema: string;
}

export interface EventSchema {
  id: number;
  type: Type;
}

/** The registry cannot be reached and the schema is not cached: retry later. */
export class SchemaUnavailableError extends Error {
  readonly retriable = true;
}

/** The registry does not know the schema, or it is not a version of the event subject. */
export class UnknownSchemaError extends Error {}

export function createRegistry(url: string): SchemaRegistry {
  // Few quick retries: callers answer 503 rather than hold a request open.
  return new SchemaRegistry({ host: url, clientId: 'streamtrack', retry: { retries: 1, initialRetryTimeInSecs: 0.1 } });
}

/** TopicNameStrategy, the Confluent serializers' default: `<topic>-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** The tracked-event schema versions in schemas/, oldest first. */
export async function eventSchemaFiles(dir = SCHEMAS_DIR): Promise<SchemaFile[]> {
  const names = (await readdir(dir)).filter((name) => EVENT_SCHEMA_FILE.test(name));
  const files = await Promise.all(
    names.map(async (name) => ({
      version: Number(EVENT_SCHEMA_FILE.exec(name)![1]),
      schema: await readFile(join(dir, name), 'utf8'),
    })),
  );
  return files.sort((a, b) => a.version - b.version);
}

/** The worker's reader schema: the newest version in schemas/. */
export async function readerType(dir = SCHEMAS_DIR): Promise<Type> {
  const files = await eventSchemaFiles(dir);
  const newest = files[files.length - 1];
  if (!newest) throw new Error(`no tracked-event schema in ${dir}`);
  return avro.Type.forSchema(JSON.parse(newest.schema) as avro.Schema);
}

/**
 * Registers the versions in order under the subject. The registry refuses a
 * version that breaks the subject's compatibility; this throws its reason.
 * Registering an already registered schema returns its id.
 */
export async function registerEventSchemas(
  registry: SchemaRegistry,
  subject: string,
  files?: SchemaFile[],
): Promise<number> {
  let id = -1;
  for (const { version, schema } of files ?? (await eventSchemaFiles())) {
    try {
      ({ id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: EVENT_COMPATIBILITY }));
    } catch (error) {
      throw new Error(`schema v${version} refused for ${subject}: ${(error as Error).message}`, { cause: error });
    }
  }
  return id;
}

function classify(error: unknown, what: string): Error {
  if ((error as { status?: number }).status === 404) return new UnknownSchemaError(`${what}: not in the registry`);
  return new SchemaUnavailableError(`schema registry unavailable (${what}): ${(error as Error).message}`, { cause: error });
}

export interface SchemaCatalog {
  /** The subject's latest version (refreshed every refreshMs while in use). */
  latest(): Promise<EventSchema>;
  /** A version pinned by a client. */
  version(version: number): Promise<EventSchema>;
  /** The schema a framed message names; it must be a version of the subject. */
  byId(id: number): Promise<EventSchema>;
}

export function createSchemaCatalog(
  registry: SchemaRegistry,
  subject: string,
  refreshMs: number,
  now: () => number = Date.now,
): SchemaCatalog {
  const byId = new Map<number, Promise<EventSchema>>();
  const byVersion = new Map<number, Promise<EventSchema>>();
  let latest: { schema: EventSchema; fetchedAt: number } | undefined;
  let refreshing: Promise<EventSchema> | undefined;

  function memo<K>(cache: Map<K, Promise<EventSchema>>, key: K, load: () => Promise<EventSchema>) {
    let entry = cache.get(key);
    if (!entry) {
      entry = load();
      cache.set(key, entry);
      entry.catch(() => cache.delete(key)); // failures are retried on the next call
    }
    return entry;
  }

  const schemaFor = (id: number, what: string) =>
    memo(byId, id, async () => {
      const type = await registry.getSchema(id).catch((error: unknown) => {
        throw classify(error, what);
      });
      return { id, type: type as Type };
    });

  function refreshLatest(): Promise<EventSchema> {
    refreshing ??= (async () => {
      try {
        const id = await registry.getLatestSchemaId(subject).catch((error: unknown) => {
          throw classify(error, `latest version of ${subject}`);
        });
        const schema = await schemaFor(id, `schema id ${id}`);
        latest = { schema, fetchedAt: now() };
        return schema;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  return {
    async latest() {
      if (!latest) return refreshLatest();
      // Stale: serve what we have and refresh behind it; an outage keeps the old one.
      if (now() - latest.fetchedAt >= refreshMs) refreshLatest().catch(() => undefined);
      return latest.schema;
    },
    version(version) {
      return memo(byVersion, version, async () => {
        const id = await registry.getRegistryId(subject, version).catch((error: unknown) => {
          throw classify(error, `version ${version} of ${subject}`);
        });
        return schemaFor(id, `schema id ${id}`);
      });
    },
    async byId(id) {
      const schema = await schemaFor(id, `schema id ${id}`);
      const name = (schema.type as { name?: string }).name;
      if (name !== EVENT_RECORD_NAME) throw new UnknownSchemaError(`schema id ${id} is ${name ?? 'not a record'}, not ${EVENT_RECORD_NAME}`);
      return schema;
    },
  };
}

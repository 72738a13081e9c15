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

const REGISTRY_TIMEOUT_MS = 3_000;

/**
 * The Confluent client, plus what it does not ask the registry: the versions
 * of a subject (a schema id is taken only if it is one of them).
 */
export class EventRegistry extends SchemaRegistry {
  constructor(readonly url: string) {
    // Few quick retries: callers answer 503 rather than hold a request open.
    super({ host: url, clientId: 'streamtrack', retry: { retries: 1, initialRetryTimeInSecs: 0.1 } });
  }

  /** The subject's version numbers; none when the subject does not exist. */
  async subjectVersions(subject: string): Promise<number[]> {
    const response = await fetch(`${this.url.replace(/\/$/, '')}/subjects/${encodeURIComponent(subject)}/versions`, {
      headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' },
      signal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS),
    });
    if (response.status === 404) return [];
    if (!response.ok) throw Object.assign(new Error(`GET versions of ${subject}: HTTP ${response.status}`), { status: response.status });
    const versions = (await response.json()) as unknown;
    if (!Array.isArray(versions) || !versions.every((v) => Number.isInteger(v))) throw new Error(`versions of ${subject}: not a list of numbers`);
    return versions as number[];
  }
}

export function createRegistry(url: string): EventRegistry {
  return new EventRegistry(url);
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

/**
 * Ids that are not versions of the subject are remembered for UNKNOWN_ID_TTL_MS,
 * at most MAX_UNKNOWN_IDS of them, and the subject's versions are listed at most
 * once per RELIST_INTERVAL_MS: frames with random ids cost the registry at most
 * one listing a second, however many arrive.
 */
export const UNKNOWN_ID_TTL_MS = 30_000;
export const MAX_UNKNOWN_IDS = 10_000;
export const RELIST_INTERVAL_MS = 1_000;

export function createSchemaCatalog(
  registry: EventRegistry,
  subject: string,
  refreshMs: number,
  now: () => number = Date.now,
): SchemaCatalog {
  const byId = new Map<number, Promise<EventSchema>>();
  /** Ids known to be versions of the subject: answered without a listing. */
  const members = new Set<number>();
  /** Ids found not to be: until when that answer holds. Oldest first (Map order), to evict. */
  const unknown = new Map<number, number>();
  let listing: { startsAt: number; ids: Promise<Set<number>> } | undefined;
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
        members.add(id);
        latest = { schema, fetchedAt: now() };
        return schema;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  async function listSubjectIds(): Promise<Set<number>> {
    const versions = await registry.subjectVersions(subject).catch((error: unknown) => {
      throw classify(error, `versions of ${subject}`);
    });
    // A version deleted since it was listed is no member: an outage still fails the listing.
    const ids = await Promise.all(versions.map((v) => versionId(v).catch((error: unknown) => (error instanceof UnknownSchemaError ? undefined : Promise.reject(error)))));
    const listed = new Set<number>();
    for (const id of ids) {
      if (id === undefined) continue;
      members.add(id);
      listed.add(id);
    }
    return listed;
  }

  /**
   * The subject's ids as listed no earlier than `since`: a listing in flight
   * or due serves every caller, and listings start RELIST_INTERVAL_MS apart.
   */
  function subjectIdsSince(since: number): Promise<Set<number>> {
    if (listing && listing.startsAt >= since) return listing.ids;
    const startsAt = Math.max(since, listing ? listing.startsAt + RELIST_INTERVAL_MS : since);
    const ids = new Promise<void>((resolve) => setTimeout(resolve, startsAt - now())).then(listSubjectIds);
    const entry = { startsAt, ids };
    listing = entry;
    // Kept when it fails too: an outage is retried at the same pace, and the callers it served answer 503.
    ids.catch(() => undefined);
    return ids;
  }

  function rememberUnknown(id: number) {
    if (unknown.size >= MAX_UNKNOWN_IDS) unknown.delete(unknown.keys().next().value!);
    unknown.set(id, now() + UNKNOWN_ID_TTL_MS);
  }

  const versionIds = new Map<number, Promise<number>>();
  function versionId(version: number): Promise<number> {
    let id = versionIds.get(version);
    if (!id) {
      id = registry.getRegistryId(subject, version).catch((error: unknown) => {
        throw classify(error, `version ${version} of ${subject}`);
      });
      versionIds.set(version, id);
      id.catch(() => versionIds.delete(version));
    }
    return id;
  }

  async function eventSchemaOf(id: number): Promise<EventSchema> {
    const schema = await schemaFor(id, `schema id ${id}`);
    const name = (schema.type as { name?: string }).name;
    if (name !== EVENT_RECORD_NAME) throw new UnknownSchemaError(`schema id ${id} is ${name ?? 'not a record'}, not ${EVENT_RECORD_NAME}`);
    return schema;
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
        const id = await versionId(version);
        members.add(id);
        return schemaFor(id, `schema id ${id}`);
      });
    },
    async byId(id) {
      if (members.has(id)) return eventSchemaOf(id);
      const until = unknown.get(id);
      if (until !== undefined && until > now()) throw new UnknownSchemaError(`schema id ${id} is not a version of ${subject}`);
      // Listed after this id was seen: a version registered before its record was produced is in it.
      const ids = await subjectIdsSince(now());
      if (!ids.has(id)) {
        rememberUnknown(id);
        throw new UnknownSchemaError(`schema id ${id} is not a version of ${subject}`);
      }
      return eventSchemaOf(id);
    },
  };
}

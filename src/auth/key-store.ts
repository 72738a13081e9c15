/**
 * Projects and API keys in ClickHouse (migration 0009): creating, listing and
 * revoking them (the CLI and /admin), and reading them whole for the API's
 * key cache. A change is a new row with a higher version; reads use FINAL.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { toDateTime64 } from '../storage/events-table.js';
import { isScope, newKey, type Scope } from './api-key.js';

export const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const PROJECT_ID_EXPECTED = 'lower-case letters, digits, _ and -, starting with a letter or digit, at most 64';

export interface ProjectSettings {
  /** 0: the server's default. */
  writeEventsPerSecond: number;
  /** 0: the server's default. */
  readRequestsPerSecond: number;
  allowedOrigins: string[];
  jwtHs256Secret: string;
  jwtJwksUrl: string;
  jwtIssuer: string;
  jwtAudience: string;
}

export interface Project extends ProjectSettings {
  projectId: string;
  createdAt: number;
}

export interface StoredKey {
  keyId: string;
  projectId: string;
  name: string;
  scopes: Scope[];
  secretSha256: string;
  createdAt: number;
  revokedAt: number | null;
}

export class KeyStoreError extends Error {}

interface ProjectRow {
  project_id: string;
  created_at: number;
  write_events_per_second: number;
  read_requests_per_second: number;
  allowed_origins: string[];
  jwt_hs256_secret: string;
  jwt_jwks_url: string;
  jwt_issuer: string;
  jwt_audience: string;
}

interface KeyRow {
  key_id: string;
  project_id: string;
  name: string;
  scopes: string[];
  secret_sha256: string;
  created_at: number;
  revoked_at: number | null;
}

const PROJECT_COLUMNS = `project_id, toUnixTimestamp64Milli(created_at) AS created_at, write_events_per_second, read_requests_per_second,
  allowed_origins, jwt_hs256_secret, jwt_jwks_url, jwt_issuer, jwt_audience`;
const KEY_COLUMNS = `key_id, project_id, name, scopes, secret_sha256, toUnixTimestamp64Milli(created_at) AS created_at,
  if(revoked_at IS NULL, NULL, toUnixTimestamp64Milli(revoked_at)) AS revoked_at`;
const JSON_NUMBERS = { output_format_json_quote_64bit_integers: 0 } as const;

function toProject(row: ProjectRow): Project {
  return {
    projectId: row.project_id,
    createdAt: row.created_at,
    writeEventsPerSecond: row.write_events_per_second,
    readRequestsPerSecond: row.read_requests_per_second,
    allowedOrigins: row.allowed_origins,
    jwtHs256Secret: row.jwt_hs256_secret,
    jwtJwksUrl: row.jwt_jwks_url,
    jwtIssuer: row.jwt_issuer,
    jwtAudience: row.jwt_audience,
  };
}

function toKey(row: KeyRow): StoredKey {
  return {
    keyId: row.key_id,
    projectId: row.project_id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    secretSha256: row.secret_sha256,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function projectRow(project: Project, version: number) {
  return {
    project_id: project.projectId,
    created_at: toDateTime64(project.createdAt),
    write_events_per_second: project.writeEventsPerSecond,
    read_requests_per_second: project.readRequestsPerSecond,
    allowed_origins: project.allowedOrigins,
    jwt_hs256_secret: project.jwtHs256Secret,
    jwt_jwks_url: project.jwtJwksUrl,
    jwt_issuer: project.jwtIssuer,
    jwt_audience: project.jwtAudience,
    version,
  };
}

function keyRow(key: StoredKey, version: number) {
  return {
    key_id: key.keyId,
    project_id: key.projectId,
    name: key.name,
    scopes: key.scopes,
    secret_sha256: key.secretSha256,
    created_at: toDateTime64(key.createdAt),
    revoked_at: key.revokedAt === null ? null : toDateTime64(key.revokedAt),
    version,
  };
}

export const DEFAULT_PROJECT_SETTINGS: ProjectSettings = {
  writeEventsPerSecond: 0,
  readRequestsPerSecond: 0,
  allowedOrigins: [],
  jwtHs256Secret: '',
  jwtJwksUrl: '',
  jwtIssuer: '',
  jwtAudience: '',
};

export function createKeyStore(client: ClickHouseClient, now: () => number = Date.now) {
  // Versions are times in microseconds plus a count, so two changes in the same millisecond still order.
  // A change is always above the version it replaces: writers' clocks differ (the CLI on a laptop, API
  // replicas), and a revocation from a clock behind the key's maker's must still win under FINAL.
  let sequence = 0;
  const version = (replacing = 0) => Math.max(now() * 1000 + (sequence++ % 1000), replacing + 1);

  async function projects(): Promise<Project[]> {
    const result = await client.query({
      query: `SELECT ${PROJECT_COLUMNS} FROM projects FINAL ORDER BY project_id`,
      format: 'JSONEachRow',
      clickhouse_settings: JSON_NUMBERS,
    });
    return (await result.json<ProjectRow>()).map(toProject);
  }

  /** The project's current row with its version, which a change must exceed. */
  async function currentProject(projectId: string): Promise<{ project: Project; version: number } | undefined> {
    const result = await client.query({
      query: `SELECT ${PROJECT_COLUMNS}, version FROM projects FINAL WHERE project_id = {project:String}`,
      query_params: { project: projectId },
      format: 'JSONEachRow',
      clickhouse_settings: JSON_NUMBERS,
    });
    const [row] = await result.json<ProjectRow & { version: number }>();
    return row && { project: toProject(row), version: row.version };
  }

  async function project(projectId: string): Promise<Project | undefined> {
    return (await currentProject(projectId))?.project;
  }

  async function keys(projectId?: string): Promise<StoredKey[]> {
    const result = await client.query({
      query: `SELECT ${KEY_COLUMNS} FROM api_keys FINAL ${projectId === undefined ? '' : 'WHERE project_id = {project:String}'} ORDER BY created_at, key_id`,
      query_params: projectId === undefined ? {} : { project: projectId },
      format: 'JSONEachRow',
      clickhouse_settings: JSON_NUMBERS,
    });
    return (await result.json<KeyRow>()).map(toKey);
  }

  async function saveProject(value: Project, replacing?: number): Promise<void> {
    await client.insert({ table: 'projects', values: [projectRow(value, version(replacing))], format: 'JSONEachRow' });
  }

  return {
    projects,
    project,
    keys,

    async createProject(projectId: string, settings: Partial<ProjectSettings> = {}): Promise<Project> {
      if (!PROJECT_ID.test(projectId)) throw new KeyStoreError(`project name "${projectId}": ${PROJECT_ID_EXPECTED}`);
      if (await project(projectId)) throw new KeyStoreError(`project "${projectId}" exists`);
      const created: Project = { projectId, createdAt: now(), ...DEFAULT_PROJECT_SETTINGS, ...settings };
      await saveProject(created);
      return created;
    },

    async updateProject(projectId: string, settings: Partial<ProjectSettings>): Promise<Project> {
      const current = await currentProject(projectId);
      if (!current) throw new KeyStoreError(`no project "${projectId}"`);
      const updated = { ...current.project, ...settings };
      await saveProject(updated, current.version);
      return updated;
    },

    /** A new key of the project; the whole key is in the answer and nowhere else. */
    async createKey(projectId: string, scopes: Scope[], name = ''): Promise<{ key: string; stored: StoredKey }> {
      if (scopes.length === 0) throw new KeyStoreError('a key needs at least one scope');
      if (!(await project(projectId))) throw new KeyStoreError(`no project "${projectId}"`);
      const made = newKey(scopes);
      const stored: StoredKey = {
        keyId: made.keyId,
        projectId,
        name,
        scopes: [...new Set(scopes)],
        secretSha256: made.secretSha256,
        createdAt: now(),
        revokedAt: null,
      };
      await client.insert({ table: 'api_keys', values: [keyRow(stored, version())], format: 'JSONEachRow' });
      return { key: made.key, stored };
    },

    /** Revokes a key of the project (any project's when none is named); false when there is no such live key. */
    async revokeKey(keyId: string, projectId?: string): Promise<boolean> {
      const result = await client.query({
        query: `SELECT ${KEY_COLUMNS}, version FROM api_keys FINAL WHERE key_id = {key:String}`,
        query_params: { key: keyId },
        format: 'JSONEachRow',
        clickhouse_settings: JSON_NUMBERS,
      });
      const [row] = await result.json<KeyRow & { version: number }>();
      const key = row && toKey(row);
      if (!key || key.revokedAt !== null || (projectId !== undefined && key.projectId !== projectId)) return false;
      await client.insert({ table: 'api_keys', values: [keyRow({ ...key, revokedAt: now() }, version(row.version))], format: 'JSONEachRow' });
      return true;
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;

/**
 * Versioned ClickHouse migrations: migrations/clickhouse/NNNN_name.sql,
 * applied in order, each once, recorded in `schema_migrations` with a checksum
 * so an edited migration that was already applied is refused rather than
 * silently diverging. Statements are `IF NOT EXISTS`, so two processes
 * migrating at once both succeed. Only `init` (and `migrate`) run them: the
 * API's and the worker's ClickHouse users have no DDL rights.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { createClickHouse } from './clickhouse.js';

export const MIGRATIONS_DIR = `${join(PACKAGE_ROOT, 'migrations', 'clickhouse')}/`;
const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

/** Splits a migration into statements: `;` at the end of a line ends one. Comments are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [, version, name] = MIGRATION_FILE.exec(file)!;
      const sql = await readFile(join(dir, file), 'utf8');
      return {
        version: Number(version),
        name: name!,
        checksum: createHash('sha256').update(sql).digest('hex'),
        statements: splitStatements(sql),
      };
    }),
  );
}

/**
 * A migration may copy a table (0006): minutes, not the seconds a worker's
 * write may take; progress headers keep such a request alive through proxies.
 */
const MIGRATION_CLIENT = {
  requestTimeoutMs: 600_000,
  settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' },
} as const;

export async function migrate(config: Config['clickhouse'], dir = MIGRATIONS_DIR): Promise<Migration[]> {
  // Connected to `system`, which every user may use: init's user has rights on its own database only.
  const bootstrap = createClickHouse(config, 'system');
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
  } finally {
    await bootstrap.close();
  }
  const client = createClickHouse(config, config.database, MIGRATION_CLIENT);
  try {
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_migrations
        (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
        ENGINE = ReplacingMergeTree ORDER BY version`,
    });
    const applied = new Map(
      (
        await (
          await client.query({ query: 'SELECT version, checksum FROM schema_migrations FINAL', format: 'JSONEachRow' })
        ).json<{ version: number; checksum: string }>()
      ).map((row) => [row.version, row.checksum]),
    );
    const newlyApplied: Migration[] = [];
    for (const migration of await loadMigrations(dir)) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied`);
        }
        continue;
      }
      for (const statement of migration.statements) await client.command({ query: statement });
      await client.insert({
        table: 'schema_migrations',
        values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
        format: 'JSONEachRow',
      });
      newlyApplied.push(migration);
    }
    return newlyApplied;
  } finally {
    await client.close();
  }
}

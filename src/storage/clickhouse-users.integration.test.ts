/**
 * The ClickHouse users of the shipped deployments (scripts/clickhouse/users.sh
 * renders users.sql): every statement parses on the real engine, every table
 * granted is one the migrations create, and, on a server that has users (not
 * the chdb engine of the native stack, which runs everything as its one
 * user), the API's user can read events but not write them or change the
 * schema, and the worker's cannot read the rollups or create tables.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import { REPO_ROOT } from '../../testing/services.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { createClickHouse, type ClickHouseClient } from './clickhouse.js';
import { splitStatements } from './migrations.js';

const clickhouse = migratedClickHouse();
const services = inject('services');
const prefix = `test_${randomBytes(4).toString('hex')}`;
const passwords = { init: randomBytes(12).toString('hex'), api: randomBytes(12).toString('hex'), worker: randomBytes(12).toString('hex') };
/** Tables of the keys migration (issue 19), granted to the API before that migration may be here. */
const KEY_TABLES = ['api_keys', 'projects'];

let statements: string[] = [];
/** migratedClickHouse's database, read back from its client. */
let db = '';

async function render(databaseName: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('bash', [`${REPO_ROOT}scripts/clickhouse/users.sh`], {
    env: {
      ...process.env,
      CH_DATABASE: databaseName,
      CH_USER_PREFIX: prefix,
      CH_INIT_PASSWORD: passwords.init,
      CH_API_PASSWORD: passwords.api,
      CH_WORKER_PASSWORD: passwords.worker,
    },
  });
  return splitStatements(stdout);
}

beforeAll(async () => {
  const [row] = await (await clickhouse().query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' })).json<{ db: string }>();
  db = row!.db;
  statements = await render(db);
});

describe('ClickHouse users (scripts/clickhouse/users.sql)', () => {
  it('parses, statement by statement, on the real engine', async () => {
    expect(statements.length).toBeGreaterThan(10);
    for (const statement of statements) {
      const result = await clickhouse().query({ query: 'SELECT formatQuery({q:String}) AS f', query_params: { q: statement }, format: 'JSONEachRow' });
      const [row] = await result.json<{ f: string }>();
      expect(row?.f, statement).toBeTruthy();
    }
  });

  it('grants only tables the migrations create, and never DDL or writes of the raw tables to the API', async () => {
    const tables = new Set(
      (await (await clickhouse().query({ query: 'SELECT name FROM system.tables WHERE database = currentDatabase()', format: 'JSONEachRow' })).json<{ name: string }>()).map(
        (r) => r.name,
      ),
    );
    const grants = statements.filter((s) => s.startsWith('GRANT'));
    for (const grant of grants) {
      const [, privileges, target, user] = /^GRANT (.+) ON (\S+) TO (\S+)$/.exec(grant) ?? [];
      expect(target, grant).toBeDefined();
      const [grantDb, table] = target!.split('.');
      expect(grantDb).toBe(db);
      if (table !== '*') expect(tables.has(table!) || KEY_TABLES.includes(table!), `${grant}: no table ${table}`).toBe(true);
      if (user !== `${prefix}_init`) {
        expect(privileges, grant).not.toMatch(/\b(ALL|CREATE|DROP|TRUNCATE|ALTER (TABLE|ADD|MODIFY|COLUMN))\b/);
      }
      if (user === `${prefix}_api` && !KEY_TABLES.includes(table!)) expect(privileges, grant).toBe('SELECT');
    }
  });
});

/** On a ClickHouse server with access control (Testcontainers, a real deployment's): the rights bite. */
describe('ClickHouse users on a server with access control', () => {
  let supported = false;
  const as = (user: 'api' | 'worker'): ClickHouseClient =>
    createClickHouse({ ...isolatedConfig(services).clickhouse, database: db, username: `${prefix}_${user}`, password: passwords[user] });

  beforeAll(async () => {
    try {
      for (const statement of statements) await clickhouse().command({ query: statement });
      supported = true;
    } catch (error) {
      // The chdb engine has no writable user directory: CREATE USER is refused.
      if (!/ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND|ACCESS_DENIED|Not enough privileges/.test(String(error))) throw error;
    }
  });
  afterAll(async () => {
    if (!supported) return;
    for (const role of ['init', 'api', 'worker']) await clickhouse().command({ query: `DROP USER IF EXISTS ${prefix}_${role}` });
  });

  it('lets the API read events and not write them or change tables; the worker read its lookups and not what it does not need, nor change tables', async (context) => {
    if (!supported) context.skip();
    const api = as('api');
    const worker = as('worker');
    try {
      await expect(api.query({ query: 'SELECT count() FROM events', format: 'JSONEachRow' })).resolves.toBeDefined();
      await expect(api.command({ query: 'INSERT INTO events (user_id, action) VALUES (1, 2)' })).rejects.toThrow(/ACCESS_DENIED|Not enough privileges/);
      await expect(api.command({ query: 'DROP TABLE events' })).rejects.toThrow(/ACCESS_DENIED|Not enough privileges/);
      await expect(worker.query({ query: 'SELECT count() FROM stored_offsets', format: 'JSONEachRow' })).resolves.toBeDefined();
      await expect(worker.query({ query: 'SELECT count() FROM agg_user_activity_1h', format: 'JSONEachRow' })).rejects.toThrow(/ACCESS_DENIED|Not enough privileges/);
      await expect(worker.command({ query: 'CREATE TABLE x (a UInt8) ENGINE = Memory' })).rejects.toThrow(/ACCESS_DENIED|Not enough privileges/);
    } finally {
      await api.close();
      await worker.close();
    }
  });
});

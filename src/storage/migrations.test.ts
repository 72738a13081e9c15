import { describe, expect, it } from 'vitest';
import { loadMigrations, splitStatements } from './migrations.js';

describe('splitStatements', () => {
  it('splits on a semicolon ending a line and drops comment lines', () => {
    const sql = `-- the table\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\n-- its view\nCREATE VIEW v AS SELECT ';' AS s FROM a;\n`;
    expect(splitStatements(sql)).toEqual(['CREATE TABLE a (x UInt8)\nENGINE = Memory', "CREATE VIEW v AS SELECT ';' AS s FROM a"]);
  });
});

describe('loadMigrations', () => {
  it('loads the repository migrations in version order with checksums', async () => {
    const migrations = await loadMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.version)).toEqual([...migrations.map((m) => m.version)].sort((a, b) => a - b));
    expect(migrations[0]).toMatchObject({ version: 1, name: 'events', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(migrations[0]!.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS events/);
  });
});

/**
 * Raw events through the real ClickHouse engine: written as a Native block and
 * read back, every field as it went in, for the values an encoder gets wrong
 * first (multi-byte text, strings past 127 bytes, nulls, an offset past
 * 2^53); and the ids stored before migration 0006 re-keyed `event_ids`,
 * still found by the lookup after it.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { migratedClickHouse } from '../../testing/migrated-clickhouse.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { newEventId } from '../ingestion/event-id.js';
import { messageDefaults, type TrackedEvent } from '../model/event.js';
import { queryActivities } from './activity-query.js';
import { createClickHouse } from './clickhouse.js';
import { insertEvents, storedEventPositions, toRow } from './events-table.js';
import { MIGRATIONS_DIR, migrate } from './migrations.js';

const clickhouse = migratedClickHouse();

const AT = Date.parse('2026-05-04T03:02:01.234Z');

const awkward: TrackedEvent = {
  event_id: randomUUID(),
  project_id: 'prøject',
  user_id: 'ユーザー-1',
  action: 'añadir al carrito 🛒',
  timestamp: AT,
  sent_at: AT - 1,
  received_at: AT + 5,
  session_id: 's'.repeat(300),
  properties: { 'clé': 'välue', n: -1.25, big: 2 ** 52, yes: true, none: null, long: 'ü'.repeat(200) },
  context: {
    ip: '2001:db8::1',
    user_agent: `Mozilla/5.0 ${'x'.repeat(400)}`,
    locale: 'de-CH',
    library: { name: 'streamtrack-js', version: '1.2.3' },
    page_url: 'https://example.com/ä?q=1',
  },
  warnings: ['timestamp_in_future_clamped'],
  type: 'identify',
  anonymous_id: 'anon-ü-1',
  traits: { 'e-mail': 'ü@example.com', plan: null, seats: 3, admin: false },
  name: 'Startseite 🏠',
  message_id: 'node-next-1733000000000-ÿ',
};

const plain: TrackedEvent = {
  event_id: randomUUID(),
  project_id: 'default',
  user_id: 'u-plain',
  action: 'view',
  timestamp: AT + 60_000,
  sent_at: null,
  received_at: AT + 60_000,
  session_id: null,
  properties: {},
  context: null,
  warnings: [],
  ...messageDefaults(),
};

describe('raw events as a Native block', () => {
  it('reads back every field as written, and the Kafka position beyond 2^53', async () => {
    const offset = (2n ** 60n + 7n).toString();
    await insertEvents(
      clickhouse(),
      [toRow(awkward, { topic: 't', partition: 11, offset }, 3), toRow(plain, { topic: 't', partition: 0, offset: '0' }, 2)],
      randomUUID(),
    );
    for (const event of [awkward, plain]) {
      const page = await queryActivities(clickhouse(), { filter: { userIds: [event.user_id], actions: [], properties: [] }, order: 'asc', limit: 10 });
      expect(page.events).toEqual([
        {
          ...event,
          timestamp: new Date(event.timestamp).toISOString(),
          sent_at: event.sent_at === null ? null : new Date(event.sent_at).toISOString(),
          received_at: new Date(event.received_at).toISOString(),
        },
      ]);
    }
    const positions = await storedEventPositions(clickhouse(), [awkward.event_id, plain.event_id]);
    expect(positions.size).toBe(2);
    expect(positions.of('prøject', awkward.event_id)).toBe(`11:${offset}`);
    expect(positions.of('default', plain.event_id)).toBe('0:0');
    // An event id is unique within its project only: another project's event of the same id is not stored.
    expect(positions.of('default', awkward.event_id)).toBeUndefined();
    expect(positions.has(awkward.event_id)).toBe(true);
  });
});

describe('migration 0006 (event_ids re-keyed by time)', () => {
  it('keeps every id stored before it findable, v4 and v7 alike, and the lookup finds only those', async () => {
    const config = isolatedConfig(inject('services')).clickhouse;
    const before = await mkdtemp(join(tmpdir(), 'migrations-'));
    const client = createClickHouse(config);
    try {
      for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < '0006')) await copyFile(join(MIGRATIONS_DIR, file), join(before, file));
      await migrate(config, before);
      const stored = [randomUUID(), newEventId(Date.now()), randomUUID()];
      // The columns of that time only (later ones, such as v3's, do not exist yet).
      await client.insert({
        table: 'events',
        values: stored.map((event_id, i) => ({ event_id, project_id: plain.project_id, user_id: plain.user_id, action: plain.action, timestamp: plain.timestamp, received_at: plain.received_at, properties: '{}', schema_id: 2, kafka_partition: 1, kafka_offset: i })),
        format: 'JSONEachRow',
      });
      // 0006 and every migration after it.
      expect((await migrate(config)).map((m) => m.version)[0]).toBe(6);
      const fresh = [randomUUID(), newEventId(Date.now())];
      const positions = await storedEventPositions(client, [...stored, ...fresh]);
      expect(positions.size).toBe(stored.length);
      // Stored before migration 0010, they carry no project: each answers for any project.
      stored.forEach((id, i) => expect(positions.of('any-project', id)).toBe(`1:${i}`));
    } finally {
      await client.close();
      await rm(before, { recursive: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { messageDefaults, type TrackedEvent } from '../../model/event.js';
import { UndecodableError, type EventDecoder } from '../../serde/event-decoder.js';
import { createDecodeStep } from './decode.js';

const event = (event_id: string): TrackedEvent => ({
  event_id,
  project_id: 'p',
  user_id: 'u',
  action: 'a',
  timestamp: 0,
  sent_at: null,
  received_at: 0,
  session_id: null,
  properties: {},
  context: null,
  warnings: [],
  ...messageDefaults(),
});

/** A decoder that reads `ok`, refuses `bad` as undecodable, and fails on `down` as a registry outage would. */
const decode: EventDecoder = async (message) => {
  const text = message.toString();
  if (text === 'bad') throw new UndecodableError('unknown schema id 99');
  if (text === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:8081');
  return { event: event(text), schemaId: 1 };
};

const batch = (...values: Array<string | null>) => ({
  topic: 'events',
  partition: 2,
  firstOffset: '0',
  lastOffset: String(values.length - 1),
  records: values.map((v, i) => ({ offset: String(i), key: null, value: v === null ? null : Buffer.from(v) })),
});

describe('the decode step', () => {
  it('dead-letters empty and undecodable records with their reason, and keeps the rest in order', async () => {
    const outcome = await createDecodeStep(decode).run([batch('ok1', null, 'bad', 'ok2')], 1);
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.value.decoded.map((d) => [d.offset, d.event.event_id])).toEqual([
      ['0', 'ok1'],
      ['3', 'ok2'],
    ]);
    expect(outcome.value.letters.map((l) => [l.partition, l.record.offset, l.reason])).toEqual([
      [2, '1', 'empty value'],
      [2, '2', 'undecodable: unknown schema id 99'],
    ]);
  });

  it('asks for a retry when the registry is unavailable: nothing is dead-lettered for it', async () => {
    const outcome = await createDecodeStep(decode).run([batch('ok1', 'down')], 1);
    expect(outcome).toMatchObject({ kind: 'retry', class: 'retriable' });
  });
});

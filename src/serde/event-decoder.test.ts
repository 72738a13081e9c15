import { describe, expect, it } from 'vitest';
import { schemaVersionType } from '../../testing/schemas.js';
import { createEventDecoder, UndecodableError } from './event-decoder.js';
import { UnknownSchemaError, type EventSchema, type SchemaCatalog } from './event-schemas.js';
import { encodeAvroFrame } from './wire-format.js';

const v1 = schemaVersionType(1);
const v2 = schemaVersionType(2);
const schemas = new Map<number, EventSchema>([
  [1, { id: 1, type: v1 }],
  [2, { id: 2, type: v2 }],
]);
// The catalog is our own interface; the registry behind it is exercised in event-schemas.integration.test.ts.
const catalog: SchemaCatalog = {
  latest: async () => schemas.get(2)!,
  version: async (version) => schemas.get(version)!,
  byId: async (id) => {
    const schema = schemas.get(id);
    if (!schema) throw new UnknownSchemaError(`schema id ${id} is not a version of the subject`);
    return schema;
  },
};

const event = {
  event_id: '0B8F6A52-1C2D-4E5F-8A9B-0C1D2E3F4A5B',
  project_id: 'default',
  user_id: 'u',
  action: 'a',
  timestamp: 1,
  sent_at: null,
  received_at: 2,
  properties: { n: 1 },
  warnings: [],
};

/** The v1 frame of `event` with its properties and warnings (the last bytes) replaced by `tail`. */
function withTail(tail: number[]): Buffer {
  const frame = encodeAvroFrame(1, v1, { ...event, properties: {} });
  return Buffer.concat([frame.subarray(0, frame.length - 2), Buffer.from(tail)]);
}

describe('the worker event decoder', () => {
  const decode = createEventDecoder(catalog, v2);

  it('decodes a v1 record into the v2 reader, with a lower-case event_id', async () => {
    const { event: decoded, schemaId } = await decode(encodeAvroFrame(1, v1, event));
    expect(schemaId).toBe(1);
    expect(decoded).toMatchObject({ event_id: event.event_id.toLowerCase(), user_id: 'u', properties: { n: 1 }, session_id: null });
  });

  it('finds a block count of 2^50 undecodable at once, before avsc loops on it', async () => {
    // zig-zag 2^51: eight bytes of 0x80 continuations and the top bits.
    const count = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x04];
    const started = performance.now();
    await expect(decode(withTail(count))).rejects.toThrow(UndecodableError);
    await expect(decode(withTail(count))).rejects.toThrow(/^Avro body does not decode with schema id 1: properties: a map block claims 1125899906842624 items, more than the 528 allowed$/);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('finds an id that is not a version of the subject undecodable', async () => {
    await expect(decode(encodeAvroFrame(9, v1, event))).rejects.toThrow(new UndecodableError('schema id 9 is not a version of the subject'));
  });
});

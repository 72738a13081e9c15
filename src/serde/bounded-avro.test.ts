import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { schemaVersionType } from '../../testing/schemas.js';
import { avroBoundsProblem, eventAvroBounds } from './bounded-avro.js';
import { varint } from '../../testing/avro-bytes.js';

const v1 = schemaVersionType(1);
const v2 = schemaVersionType(2);
const bounds = eventAvroBounds();

const event = {
  event_id: '0b8f6a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  project_id: 'default',
  user_id: 'u',
  action: 'a',
  timestamp: 1_760_000_000_000,
  sent_at: null,
  received_at: 0,
  properties: {},
  warnings: [],
};

/** A v1 body whose last two fields (properties, warnings: both empty, one 0 byte each) are replaced by `tail`. */
function v1WithTail(tail: number[]): Buffer {
  const body = v1.toBuffer(event);
  return Buffer.concat([body.subarray(0, body.length - 2), Buffer.from(tail)]);
}

function timed(payload: Buffer, type = v1) {
  const started = performance.now();
  const problem = avroBoundsProblem(type, payload, bounds);
  return { problem, ms: performance.now() - started };
}

describe('bounded Avro decoding', () => {
  it('passes what avsc writes: v1, v2 with context, properties and warnings', () => {
    expect(avroBoundsProblem(v1, v1.toBuffer({ ...event, properties: { a: 1, b: 'x', c: null, d: true }, warnings: ['w'] }), bounds)).toBeUndefined();
    const full = { ...event, session_id: 's', context: { ip: '10.0.0.1', user_agent: null, locale: 'en', library: { name: 'js', version: '1' }, page_url: null } };
    expect(avroBoundsProblem(v2, v2.toBuffer(full), bounds)).toBeUndefined();
    const properties = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}`, i]));
    expect(avroBoundsProblem(v2, v2.toBuffer({ ...event, properties }), bounds)).toBeUndefined();
  });

  it('passes a block with a negative count and its byte size, as Avro allows', () => {
    const value = [...varint(1n), 0x6b, ...varint(3n), ...varint(1n), 0x78]; // key "k", union branch 3 (string), "x"
    const payload = v1WithTail([...varint(-1n), ...varint(BigInt(value.length)), ...value, 0, 0]);
    expect(avroBoundsProblem(v1, payload, bounds)).toBeUndefined();
    expect(v1.fromBuffer(payload)).toMatchObject({ properties: { k: 'x' } });
  });

  const bombs: Array<{ name: string; tail: number[]; problem: RegExp }> = [
    { name: 'a map block count of 2^50', tail: [...varint(2n ** 50n)], problem: /^properties: a map block claims \d+ items, more than the 528 allowed$/ },
    { name: 'an array block count of 2^31', tail: [0, ...varint(2n ** 31n)], problem: /^warnings: an? array block claims 2147483648 items/ },
    { name: 'a negative map block count of -2^50', tail: [...varint(-(2n ** 50n)), ...varint(4n), 0, 0, 0, 0], problem: /^properties: a map block claims \d+ items/ },
    { name: 'a negative block count whose byte size overruns', tail: [...varint(-1n), ...varint(2n ** 40n)], problem: /block claims \d+ bytes, \d+ left/ },
    { name: 'a negative byte size', tail: [...varint(-1n), ...varint(-5n)], problem: /block claims -5 bytes/ },
    { name: 'more items than the bytes left can hold', tail: [...varint(200n), 2, 0x6b], problem: /^properties: a map block claims 200 items, more than the 2 bytes left can hold$/ },
    { name: 'more items than allowed, in blocks', tail: [...Array.from({ length: 600 }, () => [...varint(1n), 2, 0x6b, 0]).flat(), 0, 0], problem: /more than the 0 allowed/ },
    { name: 'a varint of 11 bytes', tail: [...Array(10).fill(0x80), 0x01], problem: /^properties: a varint at byte \d+ overflows 64 bits$/ },
    { name: 'a varint overflowing 64 bits', tail: [...Array(9).fill(0xff), 0x7f], problem: /overflows 64 bits/ },
    { name: 'a varint running past the end', tail: [0x80, 0x80], problem: /truncated/ },
    { name: 'a negative string length', tail: [...varint(1n), ...varint(-3n), 0, 0, 0, 0], problem: /negative length -3/ },
    { name: 'a string longer than the bytes left', tail: [...varint(1n), ...varint(2n ** 40n)], problem: /truncated: a string or bytes value of \d+ bytes/ },
    { name: 'a union index out of range', tail: [...varint(1n), 2, 0x6b, ...varint(9n)], problem: /union index 9 out of 0\.\.3/ },
  ];

  it.each(bombs)('refuses $name in under 50 ms', ({ tail, problem }) => {
    const result = timed(v1WithTail(tail));
    expect(result.problem).toMatch(problem);
    expect(result.ms).toBeLessThan(50);
  });

  it('refuses nesting deeper than allowed in a recursive schema', () => {
    const tree = avro.Type.forSchema({
      type: 'record',
      name: 'Node',
      fields: [{ name: 'children', type: { type: 'array', items: 'Node' } }],
    });
    // Each outer level: its array's block of 1 item, the inner record, the closing 0; the innermost array is empty.
    const nested = (depth: number) => Buffer.from([...Array<number>(depth - 1).fill(2), 0, ...Array<number>(depth - 1).fill(0)]);
    // Each level is a record and an array: 8 levels are 15 deep (the last record has an empty array: 16).
    expect(avroBoundsProblem(tree, nested(8), bounds)).toBeUndefined();
    const deep = timed(nested(10_000), tree);
    expect(deep.problem).toMatch(/nested too deeply$/);
    expect(deep.ms).toBeLessThan(50);
  });

  it('walks any Avro type: enums, fixed, floats, bytes, longs, maps of records', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'All',
      fields: [
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
        { name: 'f', type: { type: 'fixed', name: 'F', size: 3 } },
        { name: 'x', type: 'float' },
        { name: 'b', type: 'bytes' },
        { name: 'i', type: 'int' },
        { name: 'l', type: 'long' },
        { name: 'm', type: { type: 'map', values: { type: 'record', name: 'V', fields: [{ name: 'ok', type: 'boolean' }] } } },
      ],
    });
    const value = { e: 'B', f: Buffer.from('abc'), x: 1.5, b: Buffer.from([1, 2]), i: -2_000_000_000, l: 2 ** 52, m: { k: { ok: true } } };
    const body = type.toBuffer(value);
    expect(avroBoundsProblem(type, body, bounds)).toBeUndefined();
    expect(avroBoundsProblem(type, body.subarray(0, body.length - 3), bounds)).toMatch(/^m: a map block claims 1 items, more than the 1 bytes left can hold$/);
    expect(avroBoundsProblem(type, Buffer.from([...varint(2n), ...body.subarray(1)]), bounds)).toMatch(/^e: enum index 2 out of 0\.\.1$/);
    // An int's varint is at most 5 bytes and 32 bits.
    const intAt = 1 + 3 + 4 + 3;
    const overflowingInt = Buffer.from([...body.subarray(0, intAt), 0xff, 0xff, 0xff, 0xff, 0x7f, ...body.subarray(intAt + 5)]);
    expect(avroBoundsProblem(type, overflowingInt, bounds)).toMatch(/^i: a varint at byte 11 overflows 32 bits$/);
  });
});

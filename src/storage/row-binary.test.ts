import { describe, expect, it } from 'vitest';
import { ch, rowBinaryTable, type Encoder } from './row-binary.js';

/** The bytes one value encodes to, as hex. */
function hex<V>(encoder: Encoder<V>, value: V): string {
  return rowBinaryTable<{ v: V }>({ v: encoder }).encode([{ v: value }]).toString('hex');
}

describe('RowBinary encoders', () => {
  it('writes a string as its UTF-8 byte length (LEB128) and bytes', () => {
    expect(hex(ch.string, '')).toBe('00');
    expect(hex(ch.string, 'ab')).toBe('026162');
    expect(hex(ch.string, 'é')).toBe('02c3a9'); // 1 character, 2 bytes
    const long = 'x'.repeat(200);
    expect(hex(ch.string, long)).toBe(`c801${'78'.repeat(200)}`);
    const accented = 'é'.repeat(100); // 100 characters, 200 bytes: the length needs two bytes
    expect(hex(ch.string, accented)).toBe(`c801${'c3a9'.repeat(100)}`);
  });

  it('writes a UUID as its two 64-bit halves, each little-endian', () => {
    expect(hex(ch.uuid, '00112233-4455-6677-8899-aabbccddeeff')).toBe('7766554433221100ffeeddccbbaa9988');
    expect(hex(ch.uuid, '00112233-4455-6677-8899-AABBCCDDEEFF')).toBe('7766554433221100ffeeddccbbaa9988');
  });

  it('refuses what is not a UUID', () => {
    for (const bad of ['', 'not-a-uuid', '00112233-4455-6677-8899-aabbccddeefg', '00112233-4455-6677-8899-aabbccddeeff0', '00112233-4455-6677-8899aabbccddeeff-']) {
      expect(() => hex(ch.uuid, bad), bad).toThrow(/not a UUID/);
    }
  });

  it('writes integers little-endian at their width', () => {
    expect(hex(ch.uint8, 255)).toBe('ff');
    expect(hex(ch.int8, -1)).toBe('ff');
    expect(hex(ch.uint32, 0x01020304)).toBe('04030201');
    expect(hex(ch.int64, -2)).toBe('feffffffffffffff');
    expect(hex(ch.uint64, 2 ** 40 + 5)).toBe('0500000000010000');
    expect(hex(ch.uint64Big, 2n ** 63n + 1n)).toBe('0100000000000080');
    expect(hex(ch.dateTime64ms, 1_700_000_000_123)).toBe(Buffer.from(new BigInt64Array([1_700_000_000_123n]).buffer).toString('hex'));
  });

  it('writes a float64 as IEEE 754 little-endian', () => {
    expect(hex(ch.float64, 1.5)).toBe('000000000000f83f');
  });

  it('writes nullable, array and map values', () => {
    expect(hex(ch.nullable(ch.uint8), null)).toBe('01');
    expect(hex(ch.nullable(ch.uint8), 7)).toBe('0007');
    expect(hex(ch.array(ch.string), ['a', 'bc'])).toBe('020161026263');
    expect(hex(ch.map(ch.uint64), { a: 1, b: 2 })).toBe(`02016101${'00'.repeat(7)}016202${'00'.repeat(7)}`);
    expect(hex(ch.map(ch.float64), {})).toBe('00');
  });

  it('writes rows column by column, in the order the columns are named, growing its buffer', () => {
    const table = rowBinaryTable<{ id: number; name: string }>({ id: ch.uint32, name: ch.string });
    expect(table.columns).toEqual(['id', 'name']);
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ id: i, name: 'n'.repeat(i % 300) }));
    const bytes = table.encode(rows);
    expect(bytes.length).toBe(rows.reduce((sum, r) => sum + 4 + (r.name.length < 128 ? 1 : 2) + r.name.length, 0));
    expect(bytes.subarray(0, 11).toString('hex')).toBe('00000000' + '00' + '01000000' + '016e');
  });
});

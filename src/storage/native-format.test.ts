import { describe, expect, it } from 'vitest';
import { ch, nativeTable, type ColumnType } from './native-format.js';

const u64 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString('hex');
const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]).toString('hex');

/** The column's data as hex: a one-column block of these rows, less its header (counts, name, type). */
function column<V>(type: ColumnType<V>, values: V[]): string {
  const block = nativeTable<{ v: V }>({ v: type }).encode(values.map((v) => ({ v }))).toString('hex');
  const header = '01' + values.length.toString(16).padStart(2, '0') + str('v') + str(type.name);
  expect(block.startsWith(header)).toBe(true);
  return block.slice(header.length);
}

describe('Native format', () => {
  it('writes a string as its UTF-8 byte length (LEB128) and bytes', () => {
    expect(column(ch.string, ['', 'ab', 'é'])).toBe('00' + '026162' + '02c3a9'); // 'é': 1 character, 2 bytes
    expect(column(ch.string, ['x'.repeat(200)])).toBe(`c801${'78'.repeat(200)}`);
    expect(column(ch.string, ['é'.repeat(100)])).toBe(`c801${'c3a9'.repeat(100)}`); // 100 characters, 200 bytes
  });

  it('writes a UUID as its two 64-bit halves, each little-endian', () => {
    expect(column(ch.uuid, ['00112233-4455-6677-8899-aabbccddeeff', '00112233-4455-6677-8899-AABBCCDDEEFF'])).toBe(
      '7766554433221100ffeeddccbbaa9988'.repeat(2),
    );
  });

  it('refuses what is not a UUID', () => {
    for (const bad of ['', 'not-a-uuid', '00112233-4455-6677-8899-aabbccddeefg', '00112233-4455-6677-8899-aabbccddeeff0', '00112233-4455-6677-8899aabbccddeeff-']) {
      expect(() => column(ch.uuid, [bad]), bad).toThrow(/not a UUID/);
    }
  });

  it('writes integers little-endian at their width, and names their types', () => {
    expect(column(ch.uint8, [255, 1])).toBe('ff01');
    expect(column(ch.int8, [-1])).toBe('ff');
    expect(column(ch.uint32, [0x01020304])).toBe('04030201');
    expect(column(ch.int64, [-2])).toBe('feffffffffffffff');
    expect(column(ch.uint64, [2 ** 40 + 5])).toBe('0500000000010000');
    expect(column(ch.uint64Big, [2n ** 63n + 1n])).toBe('0100000000000080');
    expect(column(ch.dateTime64ms, [1_700_000_000_123])).toBe(Buffer.from(new BigInt64Array([1_700_000_000_123n]).buffer).toString('hex'));
    expect(ch.dateTime64ms.name).toBe("DateTime64(3, 'UTC')");
  });

  it('writes a float64 as IEEE 754 little-endian', () => {
    expect(column(ch.float64, [1.5])).toBe('000000000000f83f');
  });

  it('writes a nullable column as its null map, then every row of the inner column (a zero for each null)', () => {
    expect(column(ch.nullable(ch.uint8), [null, 7, null])).toBe('010001' + '000700');
    expect(column(ch.nullable(ch.string), ['a', null])).toBe('0001' + '0161' + '00');
    expect(ch.nullable(ch.string).name).toBe('Nullable(String)');
  });

  it("writes an array column as each row's end (a running count of items), then all the items", () => {
    expect(column(ch.array(ch.string), [['a', 'bc'], [], ['d']])).toBe(u64(2) + u64(2) + u64(3) + '0161' + '026263' + '0164');
    expect(ch.array(ch.string).name).toBe('Array(String)');
  });

  it("writes a map column as each row's end, then all the keys, then all the values", () => {
    expect(column(ch.map(ch.uint64), [{ a: 1, b: 2 }, {}, { c: 3 }])).toBe(
      u64(2) + u64(2) + u64(3) + '0161' + '0162' + '0163' + u64(1) + u64(2) + u64(3),
    );
    expect(ch.map(ch.float64).name).toBe('Map(String, Float64)');
  });

  it('writes one block: column and row counts, then each column whole, in the order the columns are named', () => {
    const table = nativeTable<{ id: number; name: string }>({ id: ch.uint32, name: ch.string });
    expect(table.columns).toEqual(['id', 'name']);
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ id: i, name: 'n'.repeat(i % 300) }));
    const bytes = table.encode(rows);
    const header = Buffer.from('02' + '8827', 'hex'); // 2 columns, 5,000 rows (LEB128)
    expect(bytes.subarray(0, 3)).toEqual(header);
    const idColumn = Buffer.concat([Buffer.from(str('id') + str('UInt32'), 'hex'), Buffer.from(new Uint32Array(rows.map((r) => r.id)).buffer)]);
    expect(bytes.subarray(3, 3 + idColumn.length)).toEqual(idColumn);
    const nameBytes = rows.reduce((sum, r) => sum + (r.name.length < 128 ? 1 : 2) + r.name.length, 0);
    expect(bytes.length).toBe(3 + idColumn.length + str('name').length / 2 + str('String').length / 2 + nameBytes);
  });
});

/** Hand-made Avro bytes for tests of what hostile clients send. */

/** Avro's zig-zag varint of any long, and beyond (to build overflowing ones). */
export function varint(value: bigint): number[] {
  let n = value >= 0n ? value << 1n : (-value << 1n) - 1n;
  const bytes: number[] = [];
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    bytes.push(n > 0n ? low | 0x80 : low);
  } while (n > 0n);
  return bytes;
}

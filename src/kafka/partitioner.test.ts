import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.js';

// kafkajs' own murmur2 (Long arithmetic), the reference this one must agree with.
const reference = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

describe('murmur2', () => {
  it("matches Kafka's test vectors (UtilsTest.testMurmur2)", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of vectors) expect(murmur2(Buffer.from(text))).toBe(hash);
  });

  it("agrees with kafkajs' murmur2 on 20,000 keys of every length 0..64, ASCII, UTF-8 and random bytes", () => {
    const keys = [
      ...Array.from({ length: 65 }, (_, n) => Buffer.from('u'.repeat(n))),
      ...Array.from({ length: 5_000 }, (_, i) => Buffer.from(`user_${i}`)),
      ...Array.from({ length: 5_000 }, (_, i) => Buffer.from(`Zoë-ユーザー-${i}-😀`)),
      ...Array.from({ length: 10_000 }, (_, i) => randomBytes(i % 97)),
    ];
    for (const key of keys) expect(murmur2(key)).toBe(reference(key));
  });
});

describe('partitionForKey', () => {
  it('is the positive hash modulo the partition count', () => {
    for (let i = 0; i < 1_000; i++) {
      const key = Buffer.from(`user_${i}`);
      const partition = partitionForKey(key, 12);
      expect(partition).toBe((reference(key) & 0x7fffffff) % 12);
      expect(partition).toBeGreaterThanOrEqual(0);
    }
  });
});

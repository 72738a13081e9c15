/**
 * Kafka's default partitioning of keyed records: murmur2 of the key's bytes,
 * made positive, modulo the partition count. It picks the partition Kafka's
 * Java producer and kafkajs' DefaultPartitioner pick for the same key, so one
 * user's events share a partition whichever client produced them.
 *
 * kafkajs computes murmur2 with 64-bit Long objects and filters the partition
 * list on every call; under batch load that was about 8% of the API's CPU
 * (bench:track, CPU profile). This is the same 32-bit arithmetic with
 * Math.imul, checked against kafkajs' own in partitioner.test.ts.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return h ^ (h >>> 15);
}

/** The partition of a keyed record among `partitions`. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

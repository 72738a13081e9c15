/**
 * How a worker's round of partition batches (batch-consumer) is split for writing: in
 * SINK_GROUPS groups, side by side, so the worker encodes one group's rows
 * while ClickHouse inserts another's. Partitions have separate windows and
 * offsets, so groups are independent; the round still commits only once
 * every group is written.
 */
/** Two: one core encodes while the other inserts. */
export const SINK_GROUPS = 2;

/** The round's batches in at most `count` groups of about equal record counts (largest batch first, into the lightest group). */
export function sinkGroups<B extends { records: readonly unknown[] }>(round: B[], count = SINK_GROUPS): B[][] {
  const groups = Array.from({ length: Math.min(count, round.length) }, () => ({ batches: [] as B[], records: 0 }));
  for (const batch of [...round].sort((a, b) => b.records.length - a.records.length)) {
    const lightest = groups.reduce((min, g) => (g.records < min.records ? g : min));
    lightest.batches.push(batch);
    lightest.records += batch.records.length;
  }
  return groups.map((g) => g.batches);
}

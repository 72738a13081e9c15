/**
 * Step `store raw`: the round's fresh events into the raw-events topology's
 * sink, one insert named by the round's offset ranges (a retried insert that
 * landed is ignored). Rows the table refuses on their own are quarantined:
 * returned as dead letters carrying ClickHouse's reason, so the partition
 * moves on and nothing is lost.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { DeadLetter } from '../../kafka/dead-letters.js';
import type { PartitionBatch } from '../../kafka/round-handlers.js';
import { toRow, type EventRow } from '../../storage/events-table.js';
import type { EventsSink } from '../../storage/sinks.js';
import type { DecodedRecord } from './decode.js';
import { SINK_RETRY, attempt, quarantine, type Quarantined, type Step } from './step.js';

/** The reason a quarantined record carries in the dead-letter topic. */
export const REFUSED_BY_CLICKHOUSE = 'refused by ClickHouse';

export interface RawInsert {
  fresh: DecodedRecord[];
  /** Names the insert for ClickHouse's insert deduplication: `roundToken`. */
  token: string;
}

/** Names an insert's content for ClickHouse's insert deduplication: its batches' offset ranges. */
export function roundToken(round: PartitionBatch[]): string {
  return round.map((b) => `${b.topic}:${b.partition}:${b.firstOffset}-${b.lastOffset}`).join(',');
}

export function createStoreRawStep(sink: EventsSink, clickhouse: ClickHouseClient): Step<RawInsert, DeadLetter[]> {
  return {
    name: 'store raw',
    retry: SINK_RETRY,
    run: ({ fresh, token }) =>
      attempt(async () => {
        const rows: EventRow[] = fresh.map((e) => toRow(e.event, e, e.schemaId));
        const refused = await sink.write(clickhouse, rows, token);
        if (refused.length === 0) return [];
        const sourceOf = new Map(rows.map((row, i) => [row, fresh[i]!]));
        return refused.map(({ row, reason }) => {
          const { record, topic, partition } = sourceOf.get(row)!;
          const outcome: Quarantined = quarantine(`${REFUSED_BY_CLICKHOUSE}: ${reason}`);
          return { record, topic, partition, reason: outcome.reason };
        });
      }),
  };
}

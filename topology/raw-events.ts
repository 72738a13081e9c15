/**
 * Topology `raw-events`: every tracked event, as sent, into ClickHouse.
 *
 *   source  streamtrack.events (Avro, Confluent wire format)
 *   -> decode by the schema id each record carries
 *   -> branch: undecodable -> dead-letter topic (with the reason)
 *   -> sink   ClickHouse `events`, one insert per partition batch, with an
 *             insert_deduplication_token naming the batch's offsets
 *
 * Offsets are committed by the consumer once this pipeline completes.
 */
import { concatMap, from, map, mergeMap, toArray, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { PartitionBatch } from '../src/kafka/batch-consumer.js';
import type { DeadLetter, DeadLetterSink } from '../src/kafka/dead-letters.js';
import type { Logger } from '../src/logger.js';
import type { TrackedEvent } from '../src/model/event.js';
import type { EventSerde } from '../src/serde/event-serde.js';
import { SINK_BACKOFF, retryWhileOwned } from '../src/stream/backoff.js';
import { insertEvents, toRow } from '../src/storage/events-table.js';

export interface RawEventsDeps {
  serde: EventSerde;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

export interface RawEventsResult {
  stored: number;
  deadLettered: number;
}

type Decoded = { ok: true; event: TrackedEvent; offset: string } | { ok: false; letter: DeadLetter };

export function rawEventsTopology(deps: RawEventsDeps) {
  const log = deps.logger.child({ topology: 'raw-events' });

  const decode = (batch: PartitionBatch) =>
    concatMap(async (record: PartitionBatch['records'][number]): Promise<Decoded> => {
      const { topic, partition } = batch;
      if (record.value === null) return { ok: false, letter: { record, topic, partition, reason: 'empty value' } };
      try {
        return { ok: true, event: await deps.serde.decode(record.value), offset: record.offset };
      } catch (error) {
        return { ok: false, letter: { record, topic, partition, reason: `undecodable: ${(error as Error).message}` } };
      }
    });

  return (batch: PartitionBatch): Observable<RawEventsResult> => {
    const owned = () => !batch.isStale();
    const withRetry = <T>(what: string, work: () => Promise<T>) =>
      retryWhileOwned(work, {
        policy: SINK_BACKOFF,
        owned,
        onRetry: async (err, attempt) => {
          log.warn({ err, attempt, partition: batch.partition, what }, 'sink write failed; retrying');
          await batch.heartbeat();
        },
      });

    return from(batch.records).pipe(
      decode(batch),
      toArray(),
      map((decoded) => ({
        rows: decoded.flatMap((d) =>
          d.ok ? [toRow(d.event, { topic: batch.topic, partition: batch.partition, offset: d.offset })] : [],
        ),
        letters: decoded.flatMap((d) => (d.ok ? [] : [d.letter])),
      })),
      mergeMap(({ rows, letters }) => {
        const token = `${batch.topic}:${batch.partition}:${batch.firstOffset}-${batch.lastOffset}`;
        return withRetry('dead letters', () => deps.deadLetters.send(letters)).pipe(
          concatMap(() => (rows.length > 0 ? withRetry('events', () => insertEvents(deps.clickhouse, rows, token)) : from([undefined]))),
          map(() => ({ stored: rows.length, deadLettered: letters.length })),
        );
      }),
    );
  };
}

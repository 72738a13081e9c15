/**
 * Topology `raw-events`: every tracked event, once, into ClickHouse.
 *
 *   source  streamtrack.events (Avro, Confluent wire format)
 *   -> decode by the writer schema id, resolved to the newest schema
 *   -> branch: undecodable -> dead-letter topic (with the reason)
 *   -> dedupe by event_id: within the batch, then against `event_ids`
 *   -> sink   ClickHouse `events`, one insert per partition batch, with an
 *             insert_deduplication_token naming the batch's offsets
 *
 * Sink writes and registry lookups are retried with backoff while the
 * partition is ours. Offsets are committed by the consumer once this
 * pipeline completes.
 */
import { concatMap, from, map, of, toArray, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { PartitionBatch } from '../src/kafka/batch-consumer.js';
import type { DeadLetter, DeadLetterSink } from '../src/kafka/dead-letters.js';
import type { Logger } from '../src/logger.js';
import { UndecodableError, type DecodedEvent, type EventDecoder } from '../src/serde/event-decoder.js';
import { SINK_BACKOFF, retryWhileOwned } from '../src/stream/backoff.js';
import { insertEvents, storedEventIds, toRow } from '../src/storage/events-table.js';

export interface RawEventsDeps {
  decode: EventDecoder;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

export interface RawEventsResult {
  stored: number;
  duplicates: number;
  deadLettered: number;
}

type Decoded = ({ ok: true; offset: string } & DecodedEvent) | { ok: false; letter: DeadLetter };

/** First occurrence of each event_id wins, in offset order. */
function firstPerEventId<T extends { event: { event_id: string } }>(decoded: T[]): T[] {
  const seen = new Set<string>();
  return decoded.filter(({ event }) => !seen.has(event.event_id) && seen.add(event.event_id));
}

export function rawEventsTopology(deps: RawEventsDeps) {
  const log = deps.logger.child({ topology: 'raw-events' });

  return (batch: PartitionBatch): Observable<RawEventsResult> => {
    const { topic, partition } = batch;
    const retried = <T>(what: string, work: () => Promise<T>) =>
      retryWhileOwned(work, {
        policy: SINK_BACKOFF,
        owned: () => !batch.isStale(),
        onRetry: async (err, attempt) => {
          log.warn({ err, attempt, partition, what }, 'step failed; retrying');
          await batch.heartbeat();
        },
      });

    const decodeRecord = (record: PartitionBatch['records'][number]): Observable<Decoded> => {
      const letter = (reason: string): Decoded => ({ ok: false, letter: { record, topic, partition, reason } });
      if (record.value === null) return of(letter('empty value'));
      const value = record.value;
      return retried('decode', async (): Promise<Decoded> => {
        try {
          return { ok: true, offset: record.offset, ...(await deps.decode(value)) };
        } catch (error) {
          if (error instanceof UndecodableError) return letter(`undecodable: ${error.message}`);
          throw error;
        }
      });
    };

    return from(batch.records).pipe(
      concatMap(decodeRecord),
      toArray(),
      concatMap((decoded) => {
        const letters = decoded.flatMap((d) => (d.ok ? [] : [d.letter]));
        const events = firstPerEventId(decoded.flatMap((d) => (d.ok ? [d] : [])));
        const token = `${topic}:${partition}:${batch.firstOffset}-${batch.lastOffset}`;
        return retried('dead letters', () => deps.deadLetters.send(letters)).pipe(
          concatMap(() => retried('stored ids', () => storedEventIds(deps.clickhouse, events.map((e) => e.event.event_id)))),
          concatMap((stored) => {
            const fresh = events.filter((e) => !stored.has(e.event.event_id));
            const rows = fresh.map((e) => toRow(e.event, { topic, partition, offset: e.offset }, e.schemaId));
            const insert = rows.length > 0 ? retried('events', () => insertEvents(deps.clickhouse, rows, token)) : of(undefined);
            return insert.pipe(
              map(() => ({ stored: rows.length, duplicates: decoded.length - letters.length - rows.length, deadLettered: letters.length })),
            );
          }),
        );
      }),
    );
  };
}

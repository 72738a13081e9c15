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
 * Its output is the batch's canonical events: each event_id's own record
 * (stored now, or stored from this very record before a restart), which the
 * windowed topologies count. A resent event_id is never counted twice.
 * Sink writes and registry lookups are retried with backoff while the
 * partition is ours.
 */
import { concatMap, from, map, of, toArray, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { PartitionBatch } from '../src/kafka/batch-consumer.js';
import type { DeadLetter, DeadLetterSink } from '../src/kafka/dead-letters.js';
import type { TrackedEvent } from '../src/model/event.js';
import { UndecodableError, type DecodedEvent, type EventDecoder } from '../src/serde/event-decoder.js';
import type { Retried } from '../src/stream/backoff.js';
import { insertEvents, storedEventPositions, toRow } from '../src/storage/events-table.js';

export interface RawEventsDeps {
  decode: EventDecoder;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetterSink;
}

export interface CanonicalEvent {
  event: TrackedEvent;
  offset: bigint;
}

export interface RawEventsOutput {
  canonical: CanonicalEvent[];
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
  return (batch: PartitionBatch, retried: Retried): Observable<RawEventsOutput> => {
    const { topic, partition } = batch;

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
          concatMap(() => retried('stored ids', () => storedEventPositions(deps.clickhouse, events.map((e) => e.event.event_id)))),
          concatMap((stored) => {
            const fresh = events.filter((e) => !stored.has(e.event.event_id));
            const replayed = events.filter((e) => stored.get(e.event.event_id) === `${partition}:${e.offset}`);
            const rows = fresh.map((e) => toRow(e.event, { topic, partition, offset: e.offset }, e.schemaId));
            const insert = rows.length > 0 ? retried('events', () => insertEvents(deps.clickhouse, rows, token)) : of(undefined);
            const canonical = [...replayed, ...fresh]
              .map((e) => ({ event: e.event, offset: BigInt(e.offset) }))
              .sort((a, b) => (a.offset < b.offset ? -1 : 1));
            return insert.pipe(
              map(() => ({
                canonical,
                stored: rows.length,
                duplicates: decoded.length - letters.length - canonical.length,
                deadLettered: letters.length,
              })),
            );
          }),
        );
      }),
    );
  };
}

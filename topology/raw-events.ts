/**
 * Topology `raw-events`: every tracked event, once, into ClickHouse.
 *
 *   source  streamtrack.events (Avro, Confluent wire format)
 *   -> decode by the writer schema id, resolved to the newest schema
 *   -> branch: undecodable -> dead-letter topic (with the reason)
 *   -> dedupe by (project_id, event_id): within the round, then against `event_ids_by_time`
 *   -> sink   ClickHouse `events`, one insert per round, with an
 *             insert_deduplication_token naming its batches' offset ranges
 *             (a retried insert is ignored; a replay after a crash may form
 *             rounds differently, and the event_id lookup is what keeps it
 *             out)
 *   -> branch: refused by the table -> dead-letter topic (the quarantine):
 *             an insert ClickHouse refuses for its data (a value, too many
 *             partitions in one block) is split to the rows responsible,
 *             and only those go, with ClickHouse's error as the reason
 *
 * Its output is the round's canonical events: each event_id's own record
 * (stored now, or stored from this very record before a restart), which the
 * windowed topologies count, and the insert that stores them, for the
 * pipeline to start when it suits it. A resent event_id is never counted twice.
 * Sink writes and registry lookups are retried with backoff while the
 * partition is ours.
 */
import { concatMap, of, type Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ConsumedRecord, PartitionBatch } from '../src/kafka/batch-consumer.js';
import type { DeadLetter, DeadLetterSink } from '../src/kafka/dead-letters.js';
import type { TrackedEvent } from '../src/model/event.js';
import { UndecodableError, type DecodedEvent, type EventDecoder } from '../src/serde/event-decoder.js';
import type { Retried } from '../src/stream/backoff.js';
import { insertEvents, storedEventPositions, toRow, type EventRow } from '../src/storage/events-table.js';

export interface RawEventsDeps {
  decode: EventDecoder;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetterSink;
}

export interface CanonicalEvent {
  event: TrackedEvent;
  partition: number;
  offset: bigint;
}

export interface RawEventsOutput {
  /** Each partition's in offset order. */
  canonical: CanonicalEvent[];
  stored: number;
  duplicates: number;
  deadLettered: number;
  /**
   * Stores the round's new raw events (retried), in one insert named by its
   * batches' offset ranges, and quarantines the ones the table refuses;
   * nothing happens until it is subscribed to. Emits how many were
   * quarantined.
   */
  insert: Observable<number>;
}

/** The reason a quarantined record carries in the dead-letter topic. */
export const REFUSED_BY_CLICKHOUSE = 'refused by ClickHouse';

type DecodedRecord = { ok: true; topic: string; partition: number; offset: string; record: ConsumedRecord } & DecodedEvent;
type Undecoded = { ok: false; letter: DeadLetter };
type Decoded = DecodedRecord | Undecoded;

/** First occurrence of each event_id of a project wins, in the order given: ids are unique within a project only. */
function firstPerEventId<T extends { event: { event_id: string; project_id: string } }>(decoded: T[]): T[] {
  const seen = new Map<string, Set<string>>();
  return decoded.filter(({ event }) => {
    let ofProject = seen.get(event.project_id);
    if (!ofProject) seen.set(event.project_id, (ofProject = new Set()));
    return !ofProject.has(event.event_id) && ofProject.add(event.event_id);
  });
}

/** Names an insert's content for ClickHouse's insert deduplication: its batches' offset ranges. */
export function roundToken(round: PartitionBatch[]): string {
  return round.map((b) => `${b.topic}:${b.partition}:${b.firstOffset}-${b.lastOffset}`).join(',');
}

export function rawEventsTopology(deps: RawEventsDeps) {
  async function decodeBatch(batch: PartitionBatch): Promise<Decoded[]> {
    const { topic, partition } = batch;
    const decoded: Decoded[] = [];
    for (const record of batch.records) {
      if (record.value === null) {
        decoded.push({ ok: false, letter: { record, topic, partition, reason: 'empty value' } });
        continue;
      }
      try {
        const { event, schemaId } = await deps.decode(record.value);
        decoded.push({ ok: true, topic, partition, offset: record.offset, record, event, schemaId });
      } catch (error) {
        if (!(error instanceof UndecodableError)) throw error; // the registry is unavailable: the round is retried
        decoded.push({ ok: false, letter: { record, topic, partition, reason: `undecodable: ${error.message}` } });
      }
    }
    return decoded;
  }

  /** Stores the rows; the ones ClickHouse refuses go to the dead-letter topic. Returns how many did. */
  async function store(round: PartitionBatch[], rows: EventRow[], sources: DecodedRecord[]): Promise<number> {
    const refused = await insertEvents(deps.clickhouse, rows, roundToken(round));
    if (refused.length === 0) return 0;
    const sourceOf = new Map(rows.map((row, i) => [row, sources[i]!]));
    await deps.deadLetters.send(
      refused.map(({ row, reason }) => {
        const { record, topic, partition } = sourceOf.get(row)!;
        return { record, topic, partition, reason: `${REFUSED_BY_CLICKHOUSE}: ${reason}` };
      }),
    );
    return refused.length;
  }

  return (round: PartitionBatch[], retried: Retried): Observable<RawEventsOutput> =>
    // Decoding is pure, so a registry outage retries the whole round's decoding.
    retried('decode', async () => (await Promise.all(round.map(decodeBatch))).flat()).pipe(
      concatMap((decoded) => {
        // Filters, not flatMaps: those allocate an array per record.
        const letters = decoded.filter((d): d is Undecoded => !d.ok).map((d) => d.letter);
        const events = firstPerEventId(decoded.filter((d): d is DecodedRecord => d.ok));
        return retried('dead letters', () => deps.deadLetters.send(letters)).pipe(
          concatMap(() => retried('stored ids', () => storedEventPositions(deps.clickhouse, events.map((e) => e.event.event_id)))),
          concatMap((stored) => {
            // One pass, in the round's order: each partition's events stay in offset order.
            const rows: EventRow[] = [];
            const sources: DecodedRecord[] = [];
            const canonical: CanonicalEvent[] = [];
            for (const e of events) {
              const position = stored.of(e.event.project_id, e.event.event_id);
              if (position === undefined) {
                rows.push(toRow(e.event, e, e.schemaId)); // fresh
                sources.push(e);
              }
              else if (position !== `${e.partition}:${e.offset}`) continue; // a resend, stored from another record
              canonical.push({ event: e.event, partition: e.partition, offset: BigInt(e.offset) });
            }
            return of({
              canonical,
              stored: rows.length,
              duplicates: decoded.length - letters.length - canonical.length,
              deadLettered: letters.length,
              insert: rows.length > 0 ? retried('events', () => store(round, rows, sources)) : of(0),
            });
          }),
        );
      }),
    );
}

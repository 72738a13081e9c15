/**
 * Step `dedupe`: each (project_id, event_id) once. The first occurrence in
 * the round wins; ids already in `event_ids_by_time` are not stored again,
 * and count in the windows only if stored from this very record (a replay
 * after a crash), never if from another (a client's resend).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TrackedEvent } from '../../model/event.js';
import { storedEventPositions } from '../../storage/events-table.js';
import type { DecodedRecord } from './decode.js';
import { LOOKUP_RETRY, attempt, type Step } from './step.js';

/** An event the windowed topologies count: its event_id's own record. */
export interface CanonicalEvent {
  event: TrackedEvent;
  partition: number;
  offset: bigint;
}

export interface Deduped {
  /** Not stored yet: for the raw insert. */
  fresh: DecodedRecord[];
  /** Each partition's in offset order. */
  canonical: CanonicalEvent[];
  duplicates: number;
}

/** First occurrence of each event_id of a project wins, in the order given: ids are unique within a project only. */
function firstPerEventId(decoded: DecodedRecord[]): DecodedRecord[] {
  const seen = new Map<string, Set<string>>();
  return decoded.filter(({ event }) => {
    let ofProject = seen.get(event.project_id);
    if (!ofProject) seen.set(event.project_id, (ofProject = new Set()));
    return !ofProject.has(event.event_id) && ofProject.add(event.event_id);
  });
}

export function createDedupeStep(clickhouse: ClickHouseClient): Step<DecodedRecord[], Deduped> {
  return {
    name: 'dedupe',
    retry: LOOKUP_RETRY,
    run: (decoded) =>
      attempt(async () => {
        const events = firstPerEventId(decoded);
        const stored = await storedEventPositions(clickhouse, events.map((e) => e.event.event_id));
        // One pass, in the round's order: each partition's events stay in offset order.
        const fresh: DecodedRecord[] = [];
        const canonical: CanonicalEvent[] = [];
        for (const e of events) {
          const position = stored.of(e.event.project_id, e.event.event_id);
          if (position === undefined) fresh.push(e);
          else if (position !== `${e.partition}:${e.offset}`) continue; // a resend, stored from another record
          canonical.push({ event: e.event, partition: e.partition, offset: BigInt(e.offset) });
        }
        return { fresh, canonical, duplicates: decoded.length - canonical.length };
      }),
  };
}

/**
 * Topology `raw-events`: every tracked event, once, into ClickHouse.
 *
 *   source  streamtrack.events (Avro, Confluent wire format)
 *   -> decode by the writer schema id, resolved to the newest schema
 *   -> branch: undecodable -> dead-letter topic (with the reason)
 *   -> dedupe by (project_id, event_id): within the round, then against `event_ids_by_time`
 *   -> sink   ClickHouse `events`, one insert per round, with an
 *             insert_deduplication_token naming its batches' offset ranges
 *   -> branch: refused by the table -> dead-letter topic (the quarantine),
 *             with ClickHouse's error as the reason
 *
 * Its output is the round's canonical events (each event_id's own record),
 * which the windowed topologies count: a resent event_id is counted once.
 * The steps that run it are in src/worker/steps/.
 */
import type { RawTopology } from '../src/stream/topology.js';
import { rawEvents } from '../src/storage/sinks.js';

export const rawEventsTopology: RawTopology = {
  name: 'raw-events',
  source: 'events',
  deadLetters: '<topic>.dlq',
  sink: rawEvents,
};

/**
 * The sinks topologies write to, as typed objects: a topology definition
 * references one (`.to(activityMinutes)`), the worker's steps call its
 * `write`, and the topology test driver (src/stream/topology-test-driver.ts)
 * collects its `rows` without a database. A new table for a topology is a
 * new sink here.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ActivityAggregate } from '../stream/aggregates.js';
import type { WindowResult } from '../stream/window-store.js';
import { insertEvents, type EventRow } from './events-table.js';
import type { RefusedRow } from './write-errors.js';
import {
  activityChangeRows,
  knownPrevious,
  sessionRows,
  writeActivityResults,
  writeSessionResults,
  type ActivityChangeRow,
  type SessionRow,
  type SinkAttempt,
} from './window-results.js';

/** Where a windowed topology's results go. */
export interface WindowSink<A, Row> {
  /** The table readers query (what the topology's description names). */
  readonly name: string;
  /** The rows these results become when what each replaces is known (as for windows the store opened itself). */
  rows(topology: string, results: WindowResult<A>[]): Row[];
  /** Writes the results; returns how many rows the table refused on their own. */
  write(client: ClickHouseClient, topology: string, results: WindowResult<A>[], attempt: SinkAttempt): Promise<number>;
}

/** Where the raw-events topology stores each event once. */
export interface EventsSink {
  readonly name: string;
  /** Inserts the rows under one deduplication token; returns the rows the table refused. */
  write(client: ClickHouseClient, rows: EventRow[], deduplicationToken: string): Promise<RefusedRow<EventRow>[]>;
}

/** Per-user minute activity: signed changes (+1 new, -1 replaced) that feed the 1m table and the hour and day rollups. */
export const activityMinutes: WindowSink<ActivityAggregate, ActivityChangeRow> = {
  name: 'agg_user_activity_1m',
  rows: (topology, results) => activityChangeRows(topology, results, knownPrevious),
  write: writeActivityResults,
};

/** Per-user sessions: snapshots, the latest revision kept; retractions delete. */
export const userSessions: WindowSink<ActivityAggregate, SessionRow> = {
  name: 'agg_user_sessions',
  rows: sessionRows,
  write: (client, topology, results) => writeSessionResults(client, topology, results),
};

/** The raw events, once per (project_id, event_id). */
export const rawEvents: EventsSink = {
  name: 'events',
  write: insertEvents,
};

/**
 * The read behind GET /insights/properties: property names seen per action,
 * with their JSON type and when last seen, from agg_event_properties (kept by
 * a view on `events` as they are stored, migration 0015), never the events.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { rows } from './stats-query.js';

export interface PropertySeen {
  action: string;
  name: string;
  type: 'string' | 'number' | 'boolean';
  last_seen: number;
}

export async function propertiesSeen(client: ClickHouseClient, projectId: string, action: string | undefined, limit: number): Promise<PropertySeen[]> {
  return rows<PropertySeen>(
    client,
    `SELECT toString(action) AS action, name, toString(type) AS type, toUnixTimestamp64Milli(max(last_seen)) AS last_seen
     FROM agg_event_properties
     WHERE project_id = {project:String} ${action === undefined ? '' : 'AND action = {action:String}'}
     GROUP BY action, name, type ORDER BY action, name, type LIMIT {limit:UInt32}`,
    { project: projectId, action: action ?? '', limit },
  );
}

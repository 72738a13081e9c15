/**
 * Identity reads, from what migration 0011's views derive from stored events:
 *   - user_links:  the ids linked to a user (an identify or alias carrying an
 *                  anonymous or previous id beside the user id), from when
 *   - user_traits: each trait's value from the user's latest identify
 *   - user_seen:   each id's first and last event time
 * Links are one step: an id linked to a user is not followed further (an
 * anonymous id linked to B, where B was aliased to A, is not A's).
 * Every read names its project; values are query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { PropertyValue } from '../model/event.js';
import { rows } from './stats-query.js';

/** The most ids linked to one user that a read expands it to: its earliest links. */
export const MAX_LINKED_IDS = 100;

export interface Link {
  id: string;
  /** Event time of the first event that linked it, epoch ms. */
  linkedAt: number;
}

/** Each user's linked ids, earliest link first, at most MAX_LINKED_IDS per user. */
export async function linkedIds(client: ClickHouseClient, projectId: string | undefined, userIds: string[]): Promise<Map<string, Link[]>> {
  const found = await rows<{ user_id: string; linked_id: string; linked_at: number }>(
    client,
    `SELECT user_id, linked_id, toUnixTimestamp64Milli(min(linked_at)) AS linked_at
     FROM user_links
     WHERE ${projectId === undefined ? '' : 'project_id = {project:String} AND '}user_id IN {users:Array(String)}
     GROUP BY user_id, linked_id
     ORDER BY user_id, linked_at, linked_id
     LIMIT {max:UInt32} BY user_id`,
    { project: projectId ?? '', users: userIds, max: MAX_LINKED_IDS },
  );
  const links = new Map<string, Link[]>(userIds.map((id) => [id, []]));
  for (const row of found) links.get(row.user_id)?.push({ id: row.linked_id, linkedAt: row.linked_at });
  return links;
}

/** The users and every id linked to them, each once, the users first. */
export async function withLinkedIds(client: ClickHouseClient, projectId: string | undefined, userIds: string[]): Promise<string[]> {
  const links = await linkedIds(client, projectId, userIds);
  return [...new Set([...userIds, ...[...links.values()].flat().map((link) => link.id)])];
}

export interface UserProfile {
  traits: Record<string, PropertyValue>;
  links: Link[];
  firstSeen: number;
  lastSeen: number;
}

/** The most traits a profile lists (identify's traits are bounded per event, not per user). */
const MAX_TRAITS = 1_000;

/**
 * A user's traits (the newest value of each, over the user's identifies and
 * those of its linked ids), linked ids, and first and last event time over
 * them all; undefined when the project has no event of the user or its links.
 * Without `followLinks`, the user's own alone.
 */
export async function userProfile(client: ClickHouseClient, projectId: string, userId: string, followLinks = true): Promise<UserProfile | undefined> {
  const links = followLinks ? ((await linkedIds(client, projectId, [userId])).get(userId) ?? []) : [];
  const ids = [userId, ...links.map((link) => link.id)];
  const params = { project: projectId, ids, max: MAX_TRAITS };
  const [seen, traits] = await Promise.all([
    rows<{ n: number; first_seen: number; last_seen: number }>(
      client,
      `SELECT count() AS n, toUnixTimestamp64Milli(min(first_seen)) AS first_seen, toUnixTimestamp64Milli(max(last_seen)) AS last_seen
       FROM user_seen WHERE project_id = {project:String} AND user_id IN {ids:Array(String)}`,
      params,
    ),
    rows<{ trait: string; value: string }>(
      client,
      `SELECT trait, argMax(value, (timestamp, received_at)) AS value
       FROM user_traits WHERE project_id = {project:String} AND user_id IN {ids:Array(String)}
       GROUP BY trait ORDER BY trait LIMIT {max:UInt32}`,
      params,
    ),
  ]);
  const [row] = seen;
  if (!row || row.n === 0) return undefined;
  return {
    traits: Object.fromEntries(traits.map(({ trait, value }) => [trait, JSON.parse(value) as PropertyValue])),
    links,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

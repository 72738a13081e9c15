/**
 * The opaque page cursor of GET /activities: where the next page starts
 * (keyset on event time and id) and the order it was made for, as base64url
 * JSON, so a client passes it back without reading it.
 */
import { isUuid } from '../ingestion/validate-event.js';
import type { Keyset } from '../storage/activity-query.js';

export type Order = 'asc' | 'desc';

export interface PageCursor extends Keyset {
  order: Order;
}

export function encodeCursor(keyset: Keyset, order: Order): string {
  return Buffer.from(JSON.stringify({ t: keyset.timestamp, i: keyset.eventId, o: order })).toString('base64url');
}

/** The cursor, or undefined when `raw` is not one of ours. */
export function decodeCursor(raw: string): PageCursor | undefined {
  try {
    const { t, i, o } = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { t: unknown; i: unknown; o: unknown };
    if (Number.isSafeInteger(t) && isUuid(i) && (o === 'asc' || o === 'desc')) {
      return { timestamp: t as number, eventId: i, order: o };
    }
  } catch {
    // not JSON: not one of ours
  }
  return undefined;
}

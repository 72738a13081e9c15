/**
 * The id of an event its client sent without one: a UUIDv7 (RFC 9562),
 * whose first 48 bits are the receive time in milliseconds.
 *
 * Why time-ordered: the worker looks every incoming id up before storing
 * it, in `event_ids_by_time`, ordered by the time inside a UUIDv7 and then
 * the id (migration 0006). A lookup reads each granule that might hold one
 * of its ids: random ids hit nearly every granule, so their lookup grows with
 * everything ever stored, while the ids of a round's new events sit in the
 * last granules (`npm run bench:lookup`).
 *
 * Written here rather than taken from the `uuid` package: its v7 took
 * 2.8-3.6 us per id, this one 0.36-0.40 (crypto.randomUUID alone 0.18-0.21:
 * it draws from a pool of randomness). A v7 is a v4 with the time in its
 * first 48 bits and 7 for the version; the other 74 random bits and the
 * variant stay.
 */
import { randomUUID } from 'node:crypto';

let prefixMs = Number.NaN;
/** `tttttttt-tttt-7` for prefixMs: the same for every id of a millisecond. */
let prefix = '';

export function newEventId(receivedAt: number): string {
  if (receivedAt !== prefixMs) {
    const hex = Math.trunc(receivedAt).toString(16).padStart(12, '0');
    prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
    prefixMs = receivedAt;
  }
  // randomUUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; from the 16th character on it is random bits and the variant.
  return prefix + randomUUID().slice(15);
}

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
import { hash, randomUUID } from 'node:crypto';

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

/**
 * The namespace of event ids derived from a client's own message ids (a
 * random UUID, fixed for good: changing it would give every resent message
 * a new id).
 */
export const MESSAGE_ID_NAMESPACE = '9b0c6a4e-3f7d-4b58-a1c2-6d0e8f3b7a15';

/**
 * A name-based UUID, version 5 (RFC 9562, section 5.5): the SHA-1 of the
 * namespace's 16 bytes and the name's UTF-8, its first 16 bytes with the
 * version and variant set. The same name always gives the same id.
 */
export function nameBasedUuid(namespace: string, name: string): string {
  return v5(Buffer.from(namespace.replaceAll('-', ''), 'hex'), name);
}

/** The variant's hex digit (10xx) for each digit of the hash at that place. */
const VARIANT_DIGIT: Record<string, string> = Object.fromEntries([...'0123456789abcdef'].map((d) => [d, ((parseInt(d, 16) & 0x3) | 0x8).toString(16)]));

function v5(namespace: Buffer, name: string): string {
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name));
  namespace.copy(input);
  input.write(name, 16, 'utf8');
  // crypto.hash, one call, not createHash().update().digest(): a Hash object per id cost about 4 us, this about 1.
  const hex = hash('sha1', input, 'hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${VARIANT_DIGIT[hex[16]!]!}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The event id of a client's message id that is not a UUID (Segment's
 * analytics-node sends `node-next-<ms>-<uuid>`): a v5 UUID of the project and
 * the id, so a resend in the project is stored once, and the same message id
 * in another project is another event. U+001F cannot be part of a project
 * name, so no two (project, id) pairs share a name.
 */
export function eventIdOfMessageId(projectId: string, messageId: string): string {
  return v5(MESSAGE_ID_NAMESPACE_BYTES, `${projectId}\u001f${messageId}`);
}

const MESSAGE_ID_NAMESPACE_BYTES = Buffer.from(MESSAGE_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * Segment-spec messages (the HTTP tracking API's `/v1/*` bodies, as Segment's
 * and RudderStack's libraries send them) read as StreamTrack events, which
 * are then validated like any other. Pure: no I/O.
 *
 * What maps where:
 *   type                       type (the route's, or each batch message's)
 *   userId ?? anonymousId      user_id (a visitor's events are their anonymous id's until linked)
 *   anonymousId                anonymous_id (alias: previousId, the id it links to userId)
 *   event (track)              action; other types: `$identify`, `$page`, `$screen`, `$group`, `$alias`
 *   name (page, screen)        name
 *   properties                 properties (group: `group_id` from groupId)
 *   traits (identify, group)   traits
 *   messageId                  event_id: itself when a UUID, else a v5 UUID of the project and it; message_id keeps it
 *   timestamp ?? originalTimestamp, sentAt (the message's, else the batch's)   timestamp, sent_at: skew-corrected as /track's
 *   context.ip, userAgent, locale, library, page.url                           context
 * Everything else (integrations, _metadata, channel, other context fields,
 * a page's category) is ignored, as the spec allows a receiver to.
 *
 * A message's problems are named by its own (Segment) field names.
 */
import { MESSAGE_TYPES, type MessageType } from '../model/event.js';
import { eventIdOfMessageId } from './event-id.js';
import { BodyError, WRITE_KEY_FIELD, checkCount, decodeUtf8, sized, type BodyItem, type BodyLimits } from './parse-body.js';
import { isUuid, jsonType, type EventError } from './validate-event.js';

const KNOWN_TYPES = new Set<string>(MESSAGE_TYPES);

export interface SegmentBody {
  /** A single-message route's body: its refusal is the request's. */
  single: boolean;
  /** The messages as sent, or each one's refusal (over the size limit). */
  items: BodyItem[];
  /** `writeKey` in the body (analytics-node sends it beside Basic auth); the header's credentials win. */
  writeKey?: string;
  /** The batch's `sentAt`, for the messages that carry none. */
  sentAt?: unknown;
}

const SEGMENT_WRITE_KEY = 'writeKey';

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, 'invalid_json', `body is not valid JSON: ${(error as Error).message}`);
  }
}

function writeKeyOf(body: Record<string, unknown>): string | undefined {
  const key = body[SEGMENT_WRITE_KEY] ?? body[WRITE_KEY_FIELD];
  if (key === undefined) return undefined;
  if (typeof key !== 'string') throw new BodyError(400, 'invalid_write_key', `"${SEGMENT_WRITE_KEY}" must be a string, got ${jsonType(key)}`);
  return key;
}

/**
 * `/v1/batch`: `{"batch": [...], "sentAt"?, "writeKey"?}` (other top-level
 * fields, such as RudderStack's batch `timestamp`, are ignored). A batch
 * `sentAt` applies to the messages that carry none.
 */
export function parseSegmentBatch(bytes: Uint8Array, limits: BodyLimits): SegmentBody {
  const body = parseJson(bytes);
  if (jsonType(body) !== 'object') throw new BodyError(400, 'invalid_batch', `body must be an object with "batch", got ${jsonType(body)}`);
  const { batch, sentAt } = body as Record<string, unknown>;
  if (!Array.isArray(batch)) throw new BodyError(400, 'invalid_batch', `"batch" must be an array, got ${jsonType(batch)}`);
  checkCount(batch.length, limits);
  const parsed: SegmentBody = { single: false, items: sized(batch, bytes.length, limits) };
  if (sentAt !== undefined) parsed.sentAt = sentAt;
  const writeKey = writeKeyOf(body as Record<string, unknown>);
  if (writeKey !== undefined) parsed.writeKey = writeKey;
  return parsed;
}

/** `/v1/track`, `/v1/identify`, …: one message of the route's type. */
export function parseSegmentMessage(bytes: Uint8Array, type: MessageType, limits: BodyLimits): SegmentBody {
  if (bytes.length > limits.maxEventBytes) {
    throw new BodyError(413, 'event_too_large', `message is ${bytes.length} bytes, at most ${limits.maxEventBytes} allowed`);
  }
  const body = parseJson(bytes);
  if (jsonType(body) !== 'object') return { single: true, items: [{ value: body }] };
  const parsed: SegmentBody = { single: true, items: [{ value: { ...(body as object), type } }] };
  const writeKey = writeKeyOf(body as Record<string, unknown>);
  if (writeKey !== undefined) parsed.writeKey = writeKey;
  return parsed;
}

/** Where a StreamTrack field's problem lies in the message the client sent. */
const SEGMENT_FIELD: Record<string, string> = {
  event_id: 'messageId',
  message_id: 'messageId',
  user_id: 'userId',
  anonymous_id: 'anonymousId',
  action: 'event',
  sent_at: 'sentAt',
};

/** An event's errors, named by the message's fields: `user_id` is `userId`, `properties.plan` stays. */
export function inMessageTerms(errors: EventError[], type: unknown): EventError[] {
  return errors.map((error) => {
    const dot = error.field.indexOf('.');
    const head = dot < 0 ? error.field : error.field.slice(0, dot);
    let name = SEGMENT_FIELD[head];
    if (head === 'anonymous_id' && type === 'alias') name = 'previousId';
    return name === undefined ? error : { ...error, field: name + (dot < 0 ? '' : error.field.slice(dot)) };
  });
}

type Mapped = { ok: true; event: Record<string, unknown> } | { ok: false; errors: EventError[] };

function context(value: unknown): unknown {
  if (jsonType(value) !== 'object') return value; // the schema check refuses what is not null
  const c = value as Record<string, unknown>;
  const library = c.library as Record<string, unknown> | undefined;
  const page = c.page as Record<string, unknown> | undefined;
  return {
    ip: c.ip ?? null,
    user_agent: c.userAgent ?? null,
    locale: c.locale ?? null,
    library: jsonType(library) === 'object' && library!.name !== undefined ? { name: library!.name, version: library!.version === undefined ? '' : library!.version } : null,
    page_url: jsonType(page) === 'object' ? (page!.url ?? null) : null,
  };
}

function required(field: string, problem: string): EventError {
  return { field, code: 'missing', problem };
}

/** Undefined stays undefined (the schema's default applies); anything else is taken as given, for the validator to judge. */
function given(target: Record<string, unknown>, field: string, value: unknown) {
  if (value !== undefined) target[field] = value;
}

/**
 * One Segment message as a StreamTrack event for `projectId` (the key's),
 * `batchSentAt` its batch's `sentAt`: the event validateEvent then checks
 * against the schema.
 */
export function segmentEvent(message: unknown, projectId: string, batchSentAt?: unknown): Mapped {
  if (jsonType(message) !== 'object') {
    return { ok: false, errors: [{ field: '$', code: 'not_an_object', expected: 'object', problem: `message must be a JSON object, got ${jsonType(message)}` }] };
  }
  const m = message as Record<string, unknown>;
  const { type } = m;
  if (type === undefined) return { ok: false, errors: [required('type', `is required in a batch: one of ${MESSAGE_TYPES.join(', ')}`)] };
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    return { ok: false, errors: [{ field: 'type', code: 'unknown_type', expected: MESSAGE_TYPES.join(' | '), problem: `is not a message type: ${JSON.stringify(type)?.slice(0, 64)}` }] };
  }
  const errors: EventError[] = [];
  const userId = m.userId ?? null;
  const anonymousId = type === 'alias' ? (m.previousId ?? null) : (m.anonymousId ?? null);
  if (type === 'alias') {
    if (userId === null) errors.push(required('userId', 'an alias links previousId to userId: both are required'));
    if (anonymousId === null) errors.push(required('previousId', 'an alias links previousId to userId: both are required'));
  } else if (userId === null && anonymousId === null) {
    errors.push(required('userId', 'a message needs userId or anonymousId'));
  }
  if (type === 'track' && (m.event === undefined || m.event === null)) errors.push(required('event', 'a track message names its event'));
  if (type === 'group' && (m.groupId === undefined || m.groupId === null)) errors.push(required('groupId', 'a group message names its group'));
  if (errors.length > 0) return { ok: false, errors };

  const event: Record<string, unknown> = {
    type,
    user_id: userId ?? anonymousId,
    action: type === 'track' ? m.event : `$${type}`,
  };
  given(event, 'anonymous_id', anonymousId ?? undefined);
  if (typeof m.messageId === 'string') {
    event.event_id = isUuid(m.messageId) ? m.messageId : eventIdOfMessageId(projectId, m.messageId);
    event.message_id = m.messageId;
  } else {
    given(event, 'message_id', m.messageId ?? undefined); // not a string: the validator names its type
  }
  given(event, 'timestamp', m.timestamp ?? m.originalTimestamp ?? undefined);
  given(event, 'sent_at', m.sentAt ?? batchSentAt ?? undefined);
  if (type === 'page' || type === 'screen') given(event, 'name', m.name ?? undefined);
  if (type === 'track' || type === 'page' || type === 'screen') given(event, 'properties', m.properties ?? undefined);
  if (type === 'group') event.properties = { group_id: m.groupId };
  if (type === 'identify' || type === 'group') given(event, 'traits', m.traits ?? undefined);
  if (m.context !== undefined && m.context !== null) event.context = context(m.context);
  return { ok: true, event };
}

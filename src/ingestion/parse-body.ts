/**
 * The body of `POST /track` as a list of events: one JSON object, a JSON
 * array, a Segment-style `{"batch": [...], "sent_at"?}`, or newline-delimited
 * JSON (one event per line). A JSON object body (one event, or the batch
 * wrapper) may carry the write key as `write_key`, for clients that cannot
 * set headers (navigator.sendBeacon): it is taken out of the body, so the
 * event validator never sees it. Problems with the whole body throw BodyError;
 * problems with one event (an NDJSON line that is not JSON, an event over the
 * size limit) become that event's errors, so the rest of the batch goes on.
 */
import type { EventError } from './validate-event.js';
import { jsonText, jsonType } from './validate-event.js';

export interface BodyLimits {
  maxEventBytes: number;
  maxBatchEvents: number;
}

export type BodyItem = { value: unknown } | { errors: EventError[] };

export interface ParsedBody {
  /** The body was one event (not a batch): its refusal is the request's. */
  single: boolean;
  items: BodyItem[];
  /** A `write_key` sent in the body (navigator.sendBeacon cannot set headers); authentication's to check. */
  writeKey?: string;
}

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const WRITE_KEY_FIELD = 'write_key';
const BATCH_FIELDS = new Set(['batch', 'sent_at', WRITE_KEY_FIELD]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BodyError(400, 'invalid_encoding', 'body is not valid UTF-8');
  }
}

function tooLarge(bytes: number, limits: BodyLimits): EventError[] {
  return [{ field: '$', code: 'event_too_large', problem: `event is ${bytes} bytes, at most ${limits.maxEventBytes} allowed` }];
}

export function checkCount(count: number, limits: BodyLimits) {
  if (count === 0) throw new BodyError(400, 'empty_batch', 'the batch has no events');
  if (count > limits.maxBatchEvents) {
    throw new BodyError(413, 'too_many_events', `the batch has ${count} events, at most ${limits.maxBatchEvents} allowed`);
  }
}

/** Sizes are only measured when the body could hold an event over the limit. */
export function sized(values: unknown[], bodyBytes: number, limits: BodyLimits): BodyItem[] {
  if (bodyBytes <= limits.maxEventBytes) return values.map((value) => ({ value }));
  return values.map((value) => {
    const text = jsonText(value);
    if (text === undefined) return { errors: [{ field: '$', code: 'invalid_json', problem: 'is nested too deeply to be an event' }] };
    const bytes = Buffer.byteLength(text);
    return bytes > limits.maxEventBytes ? { errors: tooLarge(bytes, limits) } : { value };
  });
}

export function parseJsonBody(bytes: Uint8Array, limits: BodyLimits): ParsedBody {
  let body: unknown;
  try {
    body = JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, 'invalid_json', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(body)) {
    checkCount(body.length, limits);
    return { single: false, items: sized(body, bytes.length, limits) };
  }
  if (jsonType(body) === 'object' && 'batch' in (body as object)) {
    const { batch, sent_at: sentAt, write_key: writeKey, ...rest } = body as Record<string, unknown>;
    const unknown = Object.keys(rest).filter((key) => !BATCH_FIELDS.has(key));
    if (!Array.isArray(batch)) throw new BodyError(400, 'invalid_batch', `"batch" must be an array, got ${jsonType(batch)}`);
    if (unknown.length > 0) throw new BodyError(400, 'invalid_batch', `unknown batch fields: ${unknown.join(', ')}`);
    checkCount(batch.length, limits);
    // A batch-level sent_at applies to the events that carry none (Segment's sentAt).
    const events = sentAt === undefined ? batch : batch.map((e: unknown) => (jsonType(e) === 'object' ? { sent_at: sentAt, ...(e as object) } : e));
    const parsed: ParsedBody = { single: false, items: sized(events, bytes.length, limits) };
    if (writeKey !== undefined) parsed.writeKey = checkWriteKey(writeKey);
    return parsed;
  }
  if (bytes.length > limits.maxEventBytes) {
    throw new BodyError(413, 'event_too_large', `event is ${bytes.length} bytes, at most ${limits.maxEventBytes} allowed`);
  }
  if (jsonType(body) === 'object' && WRITE_KEY_FIELD in (body as object)) {
    const { write_key: writeKey, ...event } = body as Record<string, unknown>;
    return { single: true, items: [{ value: event }], writeKey: checkWriteKey(writeKey) };
  }
  return { single: true, items: [{ value: body }] };
}

function checkWriteKey(value: unknown): string {
  if (typeof value !== 'string') throw new BodyError(400, 'invalid_write_key', `"${WRITE_KEY_FIELD}" must be a string, got ${jsonType(value)}`);
  return value;
}

export function parseNdjsonBody(bytes: Uint8Array, limits: BodyLimits): ParsedBody {
  const text = decodeUtf8(bytes);
  // Line by line, blank lines skipped without a string or an object each: a body of half a million empty lines is a quick 400.
  const lines: Array<{ line: string; number: number }> = [];
  let count = 0;
  for (let start = 0, number = 1; start < text.length; number++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const line = text.slice(start, end).trim();
      if (line !== '' && ++count <= limits.maxBatchEvents) lines.push({ line, number });
    }
    start = end + 1;
  }
  checkCount(count, limits);
  const items = lines.map(({ line, number }): BodyItem => {
    const size = Buffer.byteLength(line);
    if (size > limits.maxEventBytes) return { errors: tooLarge(size, limits) };
    try {
      return { value: JSON.parse(line) };
    } catch (error) {
      return { errors: [{ field: '$', code: 'invalid_json', problem: `line ${number} is not valid JSON: ${(error as Error).message}` }] };
    }
  });
  return { single: false, items };
}

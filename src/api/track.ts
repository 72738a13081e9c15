/**
 * POST /track: validate an event, encode it with its registered Avro schema
 * and publish it to Kafka keyed by user_id. Answers 202 only once Kafka has
 * acknowledged the write; never touches the database.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { validateEvent } from '../ingestion/validate-event.js';
import { PublishUnavailableError, type Publisher } from '../kafka/publisher.js';
import type { EventSerde } from '../serde/event-serde.js';
import { ApiError } from './errors.js';

export interface TrackDeps {
  serde: EventSerde;
  publisher: Publisher;
  topic: string;
  maxBodyBytes: number;
  now?: () => number;
}

export interface TrackAccepted {
  status: 'accepted';
  event_id: string;
  partition: number;
  offset: string;
}

const RETRY_AFTER_SECONDS = 5;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `body is not valid JSON: ${(error as Error).message}`);
  }
}

export function createTrackRoutes(deps: TrackDeps) {
  const now = deps.now ?? Date.now;
  return new Hono().post(
    '/',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `body exceeds ${deps.maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const contentType = c.req.header('content-type') ?? '';
      if (!/^application\/json\b/i.test(contentType)) {
        throw new ApiError(415, 'unsupported_media_type', `content type must be application/json, got "${contentType}"`);
      }
      const validation = validateEvent(parseJson(await c.req.text()), now());
      if (!validation.ok) {
        throw new ApiError(400, 'invalid_event', 'the event was refused', validation.errors);
      }
      const event = validation.value;
      let value: Buffer;
      try {
        value = await deps.serde.encode(event);
      } catch (error) {
        throw new ApiError(503, 'schema_registry_unavailable', `cannot resolve the event schema: ${(error as Error).message}`, undefined, RETRY_AFTER_SECONDS);
      }
      try {
        const { partition, offset } = await deps.publisher.publish(deps.topic, { key: event.user_id, value });
        return c.json<TrackAccepted>({ status: 'accepted', event_id: event.event_id, partition, offset }, 202);
      } catch (error) {
        if (error instanceof PublishUnavailableError) {
          throw new ApiError(503, 'kafka_unavailable', error.message, undefined, RETRY_AFTER_SECONDS);
        }
        throw error;
      }
    },
  );
}

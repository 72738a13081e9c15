/**
 * Decoding events off Kafka: the writer schema comes from the id each record
 * carries, and Avro schema resolution turns it into the worker's reader
 * schema (the newest in schemas/), so v1 and v2 events decode side by side.
 * A record that can never decode is an UndecodableError (it goes to the
 * dead-letter topic); a registry outage is not, and is retried. So is one
 * whose event_id is not a UUID: Avro's uuid is a logical type on a string,
 * which avsc does not check, and such an id could be neither looked up nor
 * stored (the column is a UUID), so it would hold up its partition for good.
 * A body whose counts or lengths claim more than its bytes (bounded-avro.ts)
 * is undecodable too, found before avsc would loop on it.
 */
import type { Type } from 'avsc';
import { isUuid } from '../ingestion/validate-event.js';
import type { TrackedEvent } from '../model/event.js';
import { avroBoundsProblem, eventAvroBounds, type AvroBounds } from './bounded-avro.js';
import { UnknownSchemaError, type SchemaCatalog } from './event-schemas.js';
import { WireFormatError, decodeFrame } from './wire-format.js';

export class UndecodableError extends Error {}

export interface DecodedEvent {
  event: TrackedEvent;
  schemaId: number;
}

export type EventDecoder = (message: Buffer) => Promise<DecodedEvent>;

interface Writer {
  type: Type;
  resolver: ReturnType<Type['createResolver']>;
}

/**
 * `bounds`: what a body may claim before avsc decodes it (avsc trusts its
 * block counts): a record over them is undecodable, not a stalled partition.
 */
export function createEventDecoder(catalog: SchemaCatalog, reader: Type, bounds: AvroBounds = eventAvroBounds()): EventDecoder {
  const writers = new Map<number, Writer>();
  return async (message) => {
    let frame;
    try {
      frame = decodeFrame(message);
    } catch (error) {
      if (error instanceof WireFormatError) throw new UndecodableError(error.message);
      throw error;
    }
    const { schemaId, payload } = frame;
    let writer = writers.get(schemaId);
    if (!writer) {
      let type: Type;
      try {
        type = (await catalog.byId(schemaId)).type;
      } catch (error) {
        if (error instanceof UnknownSchemaError) throw new UndecodableError(error.message);
        throw error; // the registry is unavailable: retriable
      }
      try {
        writer = { type, resolver: reader.createResolver(type) };
      } catch (error) {
        throw new UndecodableError(`schema id ${schemaId} does not resolve to the reader schema: ${(error as Error).message}`);
      }
      writers.set(schemaId, writer);
    }
    const problem = avroBoundsProblem(writer.type, payload, bounds);
    if (problem !== undefined) throw new UndecodableError(`Avro body does not decode with schema id ${schemaId}: ${problem}`);
    let event: TrackedEvent;
    try {
      event = reader.fromBuffer(payload, writer.resolver) as TrackedEvent;
    } catch (error) {
      throw new UndecodableError(`Avro body does not decode with schema id ${schemaId}: ${(error as Error).message}`);
    }
    if (!isUuid(event.event_id)) throw new UndecodableError(`event_id ${JSON.stringify(event.event_id)} is not a UUID`);
    // Ids are compared as text (deduplication, the event_ids lookup): in lower case, as the API writes them and ClickHouse reads them back.
    event.event_id = event.event_id.toLowerCase();
    return { event, schemaId };
  };
}

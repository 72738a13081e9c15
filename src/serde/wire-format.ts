/**
 * The Confluent wire format: magic byte 0, the 4-byte big-endian schema id,
 * then the Avro body. Pure framing; what the id means is the registry's.
 */
import type { Type } from 'avsc';

export const WIRE_HEADER_BYTES = 5;
const MAGIC_BYTE = 0;

export class WireFormatError extends Error {}

export interface Frame {
  schemaId: number;
  payload: Buffer;
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/** Encodes `value` with `type` straight behind the header: one copy per event, not two. */
export function encodeAvroFrame(schemaId: number, type: Type, value: unknown): Buffer {
  let end = type.encode(value, scratch, WIRE_HEADER_BYTES);
  if (end < 0) {
    // avsc reports how many bytes were missing.
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
    end = type.encode(value, scratch, WIRE_HEADER_BYTES);
  }
  scratch.writeUInt8(MAGIC_BYTE, 0);
  scratch.writeInt32BE(schemaId, 1);
  return Buffer.from(scratch.subarray(0, end));
}

export function decodeFrame(message: Buffer): Frame {
  if (message.length < WIRE_HEADER_BYTES) {
    throw new WireFormatError(`a framed message has at least ${WIRE_HEADER_BYTES} bytes, got ${message.length}`);
  }
  if (message[0] !== MAGIC_BYTE) {
    throw new WireFormatError(`magic byte must be ${MAGIC_BYTE}, got ${message[0]}`);
  }
  return { schemaId: message.readInt32BE(1), payload: message.subarray(WIRE_HEADER_BYTES) };
}

/**
 * The Confluent wire format: magic byte 0, the 4-byte big-endian schema id,
 * then the Avro body. Pure framing; what the id means is the registry's.
 */
export const WIRE_HEADER_BYTES = 5;
const MAGIC_BYTE = 0;

export class WireFormatError extends Error {}

export interface Frame {
  schemaId: number;
  payload: Buffer;
}

export function encodeFrame(schemaId: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(WIRE_HEADER_BYTES + payload.length);
  frame.writeUInt8(MAGIC_BYTE, 0);
  frame.writeInt32BE(schemaId, 1);
  payload.copy(frame, WIRE_HEADER_BYTES);
  return frame;
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

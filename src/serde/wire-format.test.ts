import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { decodeFrame, encodeAvroFrame, WireFormatError } from './wire-format.js';

const type = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] });

describe('Confluent wire format', () => {
  it('frames an Avro body as magic byte 0 + big-endian schema id + body, and back', () => {
    const frame = encodeAvroFrame(258, type, { s: 'ab' });
    expect([...frame]).toEqual([0, 0, 0, 1, 2, 4, 97, 98]); // "ab": zig-zag length 2 -> 4, then the bytes
    expect(decodeFrame(frame)).toEqual({ schemaId: 258, payload: Buffer.from([4, 97, 98]) });
  });

  it('grows its buffer for a value larger than it', () => {
    const s = 'x'.repeat(200_000);
    const { schemaId, payload } = decodeFrame(encodeAvroFrame(7, type, { s }));
    expect(schemaId).toBe(7);
    expect(type.fromBuffer(payload)).toEqual({ s });
  });

  it('refuses fewer than 5 bytes', () => {
    expect(() => decodeFrame(Buffer.from([0, 0, 0, 1]))).toThrow(new WireFormatError('a framed message has at least 5 bytes, got 4'));
  });

  it('refuses a wrong magic byte', () => {
    expect(() => decodeFrame(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow('magic byte must be 0, got 1');
  });
});

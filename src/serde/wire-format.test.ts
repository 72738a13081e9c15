import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, WireFormatError } from './wire-format.js';

describe('Confluent wire format', () => {
  it('frames a payload as magic byte 0 + big-endian schema id + body, and back', () => {
    const frame = encodeFrame(258, Buffer.from([7, 8, 9]));
    expect([...frame]).toEqual([0, 0, 0, 1, 2, 7, 8, 9]);
    expect(decodeFrame(frame)).toEqual({ schemaId: 258, payload: Buffer.from([7, 8, 9]) });
  });

  it('refuses fewer than 5 bytes', () => {
    expect(() => decodeFrame(Buffer.from([0, 0, 0, 1]))).toThrow(new WireFormatError('a framed message has at least 5 bytes, got 4'));
  });

  it('refuses a wrong magic byte', () => {
    expect(() => decodeFrame(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow('magic byte must be 0, got 1');
  });
});

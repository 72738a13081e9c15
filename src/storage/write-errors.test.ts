import { describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { KafkaJSError } from 'kafkajs';
import { classifyWriteError } from './write-errors.js';

const clickHouse = (code: number, type: string, message: string) => new ClickHouseError({ code: String(code), type, message });

describe('classifyWriteError', () => {
  it('retries the network, timeouts and an overloaded or restarting ClickHouse', () => {
    expect(classifyWriteError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toBe('retriable');
    expect(classifyWriteError(new Error('Timeout error.'))).toBe('retriable');
    expect(classifyWriteError(clickHouse(252, 'TOO_MANY_PARTS', 'Too many parts (3001). Merges are processing significantly slower than inserts'))).toBe('retriable');
    expect(classifyWriteError(clickHouse(241, 'MEMORY_LIMIT_EXCEEDED', 'Memory limit exceeded'))).toBe('retriable');
    expect(classifyWriteError(clickHouse(60, 'UNKNOWN_TABLE', 'Table x.events does not exist'))).toBe('retriable');
    expect(classifyWriteError('a string')).toBe('retriable');
  });

  it('does not retry data the table refuses: too many partitions for one block, a value it cannot take', () => {
    expect(
      classifyWriteError(clickHouse(252, 'TOO_MANY_PARTS', 'Too many partitions for single INSERT block (more than 100). The limit is controlled by ...')),
    ).toBe('deterministic');
    expect(classifyWriteError(clickHouse(321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE', 'Value is out of range'))).toBe('deterministic');
    expect(classifyWriteError(clickHouse(469, 'VIOLATED_CONSTRAINT', 'Constraint `c` is violated'))).toBe('deterministic');
  });

  it('believes an error that says whether it is retriable (kafkajs)', () => {
    expect(classifyWriteError(new KafkaJSError('broker not available', { retriable: true }))).toBe('retriable');
    expect(classifyWriteError(new KafkaJSError('message too large', { retriable: false }))).toBe('deterministic');
    // What kafkajs throws once its own retries of a broker that is down are exhausted.
    const exhausted = Object.assign(new KafkaJSError('retries exhausted', { retriable: false }), {
      originalError: new KafkaJSError('connection refused', { retriable: true }),
    });
    expect(classifyWriteError(exhausted)).toBe('retriable');
  });
});
